// Host launchers of kernels/cuda/views.cu: copies between and fills of arbitrary strided views of
// device storage (device-resident tensors: concat into a slice of its output, a slice's gradient
// written into zeros, Tensor::fill_). Pointers are the storages' base device pointers; offsets
// and strides are in elements of elem_size ∈ {1, 2, 4, 8} bytes; rank <= 8.
#pragma once
#include <cstdint>

#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

constexpr int kViewMaxRank = 8;

// dst[dst_offset + Σ i_d·dst_strides_d] = src[src_offset + Σ i_d·src_strides_d] over `shape`.
// The views must not overlap (a copy within one storage between disjoint views is fine).
void view_copy(const void* src, const int64_t* src_strides, int64_t src_offset, void* dst,
               const int64_t* dst_strides, int64_t dst_offset, const int64_t* shape, int rank,
               int elem_size, int threads = 256, cudaStream_t stream = nullptr);
// dst[offset + Σ i_d·strides_d] = the element whose bytes are the low elem_size bytes of `bits`.
void view_fill(void* dst, const int64_t* strides, int64_t offset, const int64_t* shape, int rank,
               int elem_size, uint64_t bits, int threads = 256, cudaStream_t stream = nullptr);

}  // namespace lethe::LETHE_KNS
