// Softmax, log-softmax and cross-entropy with label smoothing over the last dimension of [R,C]
// float32 rows, CPU kernels (a row per loop iteration, rows split over threads; a row's sums run
// in index order, so results do not depend on the thread count).
#pragma once
#include <cstdint>

namespace lethe::kernels::cpu {

// y = softmax(x) or, with log, log-softmax(x); exp through kernels/cpu/vmath.h.
void softmax_forward(const float* x, float* y, int64_t R, int64_t C, bool log);
// y is the forward's output (softmax, or log-softmax when log).
void softmax_backward(const float* y, const float* dy, float* dx, int64_t R, int64_t C, bool log);
// loss[n] = −(1−s)·lsm[n][t_n] − s/C·Σ_c lsm[n][c] for targets t [N] in [0, C), in the stable
// form of kernels/common/softmax.h (shared with the CUDA kernels and cpu_ref).
void cross_entropy_forward(const float* logits, const int64_t* target, float* loss, int64_t N,
                           int64_t C, float smoothing);
// dx[n][c] = dloss[n]·(softmax[n][c] − ((c == t_n)·(1−s) + s/C)).
void cross_entropy_backward(const float* logits, const int64_t* target, const float* dloss,
                            float* dx, int64_t N, int64_t C, float smoothing);

}  // namespace lethe::kernels::cpu
