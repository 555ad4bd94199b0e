// Host launchers of kernels/cuda/dropout.cu: inverted dropout with the Philox mask of
// kernels/common/philox.h, element i kept iff rng::uniform_at(seed, i) >= float(p) — the mask
// cpu_ref draws for the same seed, however the work is split.
#pragma once
#include <cstdint>

#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

// mask[i] = u(seed, i) >= p; y[i] = mask[i] ? x[i] · 1/(1−p) : 0.
void dropout_forward_f32(const float* x, float* y, uint8_t* mask, int64_t n, double p,
                         uint64_t seed, int threads = 256, cudaStream_t stream = nullptr);
// dx[i] = mask[i] ? dy[i] · 1/(1−p) : 0.
void dropout_backward_f32(const float* dy, const uint8_t* mask, float* dx, int64_t n, double p,
                          int threads = 256, cudaStream_t stream = nullptr);

}  // namespace lethe::LETHE_KNS
