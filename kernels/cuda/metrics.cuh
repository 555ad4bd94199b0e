// Host launchers of kernels/cuda/metrics.cu: per-row statistics of logits [N, C] (argmax,
// max-softmax confidence, softmax entropy, as eval/ and the attacks use them) and per-sample L2
// normalization of [N, D] (PGD-L2's step direction, eval/attacks/pgd.cpp).
#pragma once
#include <cstdint>

#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

// For each row r of logits [N, C] (C >= 1): argmax[r] = first index of the maximum (as
// train::argmax_rows), confidence[r] = max_k softmax(z)_k, entropy[r] = −Σ_k p_k log p_k (nats).
// Any output may be null (not computed). threads: a multiple of 32 (one warp per row).
void row_metrics_f32(const float* logits, int64_t N, int64_t C, int64_t* argmax, float* confidence,
                     float* entropy, int threads = 256, cudaStream_t stream = nullptr);
// y[r, :] = x[r, :] / (||x[r, :]||₂ + eps) when additive (eval/attacks/pgd.cpp's
// per_sample_normalize), else x / max(||x||₂, eps). norms (optional, null) receives ||x[r, :]||₂.
// One block per row; threads: a multiple of 32 in [32, 1024].
void l2_normalize_rows_f32(const float* x, float* y, float* norms, int64_t N, int64_t D, double eps,
                           bool additive = true, int threads = 256, cudaStream_t stream = nullptr);

}  // namespace lethe::LETHE_KNS
