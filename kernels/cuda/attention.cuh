// Host launcher of kernels/cuda/attention.cu: fused scaled-dot-product attention forward.
#pragma once
#include <cstdint>

#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

// out[b] = softmax(Q[b]·K[b]ᵀ·scale)·V[b] for b < BH, Q, K, V, out contiguous [BH, T, d],
// 1 <= d <= 64. The T×T score matrix is never stored. threads = queries per block: a multiple of
// 32 in [32, 256].
void attention_forward_f32(const float* q, const float* k, const float* v, float* out, int64_t BH,
                           int64_t T, int d, float scale, int threads = 128,
                           cudaStream_t stream = nullptr);

}  // namespace lethe::LETHE_KNS
