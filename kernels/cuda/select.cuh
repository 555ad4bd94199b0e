// Host launcher of kernels/cuda/select.cu: the elementwise choice out = mask ? a : b that
// ops::where runs (SalUn's masked restore, gradients of where).
#pragma once
#include <cstdint>

#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

// out[i] = mask[i] ? a[i] : b[i], bit for bit (no arithmetic). out may alias a or b.
void select_f32(const uint8_t* mask, const float* a, const float* b, float* out, int64_t n,
                int threads = 256, cudaStream_t stream = nullptr);

}  // namespace lethe::LETHE_KNS
