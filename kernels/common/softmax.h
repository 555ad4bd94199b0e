// Cross-entropy with label smoothing, per row, the single definition the CPU kernels
// (kernels/cpu/softmax.cpp), the CUDA kernels (kernels/cuda/softmax.cu) and cpu_ref use.
//
// loss = −(1−s)·lsm_t − s/C·Σ_c lsm_c with lsm_c = x_c − lse. Written naively, Σ lsm = Σx − C·lse
// subtracts two numbers of the size C·|x|: for logits near 1e4 in float that cancellation loses
// ~1e-3 of the loss, and x_t − lse (lse rounded to ulp(1e4) ≈ 1e-3) loses as much again. Here
// every term is taken relative to the row's max m: with ls = log Σ exp(x_c − m),
//   lsm_t = (x_t − m) − ls,   Σ lsm = Σ (x_c − m) − C·ls,
// where x_c − m is exact (Sterbenz) for logits within a factor 2 of m and everything else is of
// the size of the loss itself.
#pragma once
#include <cstdint>

#include "kernels/common/hd.h"

namespace lethe::kernels {

// The loss of one row from its statistics: mx = max_c x_c, log_sum = log Σ exp(x_c − mx),
// sum_shifted = Σ (x_c − mx), x_t = the target's logit; C classes, smoothing s.
template <class T>
LETHE_HD inline T ce_smoothed_loss(T mx, T log_sum, T sum_shifted, T x_t, int64_t C, T s) {
  const T lt = (x_t - mx) - log_sum;                        // lsm at the target
  const T all = sum_shifted - static_cast<T>(C) * log_sum;  // Σ_c lsm_c
  return -(T(1) - s) * lt - s / static_cast<T>(C) * all;
}

// One element of the gradient: dloss·(p_c − q_c), p_c the softmax, q the smoothed one-hot
// (1 − s + s/C at the target, s/C elsewhere).
template <class T>
LETHE_HD inline T ce_smoothed_grad(T p, bool is_target, int64_t C, T s, T dloss) {
  const T off = s / static_cast<T>(C);
  return dloss * (p - (is_target ? T(1) - s + off : off));
}

}  // namespace lethe::kernels
