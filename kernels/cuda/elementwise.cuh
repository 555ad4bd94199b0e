// Host launchers of kernels/cuda/elementwise.cu: unary forward/backward, broadcasting binary,
// reduce_sum over size-1 dims of the output, and strided-view -> contiguous copy. All pointers
// are device pointers; launches go to `stream`. Ops are kernels/common/op_kinds.h's; the switch to
// a functor happens on the host.
#pragma once
#include <cstdint>

#include "kernels/common/op_kinds.h"
#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

constexpr int kElemMaxRank = 8;

// y[i] = f(x[i]) for n float32 elements.
void elem_unary_f32(UnaryOp op, const UnaryParams& p, const float* x, float* y, int64_t n,
                    int threads = 256, cudaStream_t stream = nullptr);
// dx[i] = dy[i] * f'(x[i]) (y[i] = f(x[i])). x or y may be null (read as 0, as cpu_ref does).
void elem_unary_backward_f32(UnaryOp op, const UnaryParams& p, const float* x, const float* y,
                             const float* dy, float* dx, int64_t n, int threads = 256,
                             cudaStream_t stream = nullptr);
// c = a ∘ b with numpy broadcasting: c has shape c_shape[0..rank) (rank <= 8, contiguous);
// a_strides/b_strides are each input's element strides against c's dims (0 where broadcast).
void elem_binary_f32(BinaryOp op, const float* a, const float* b, float* c, const int64_t* c_shape,
                     const int64_t* a_strides, const int64_t* b_strides, int rank,
                     int threads = 256, cudaStream_t stream = nullptr);
// y = sum of x (contiguous, x_shape) over the dims where y_shape is 1 and x_shape is not.
// threads: a multiple of 32 in [32, 1024]. splits: maximum number of blocks one output's
// reduction may be divided over (two passes when > 1 helps; 1 forces a single pass).
void elem_reduce_sum_f32(const float* x, float* y, const int64_t* x_shape, const int64_t* y_shape,
                         int rank, int threads = 256, int splits = 64,
                         cudaStream_t stream = nullptr);
// dst[i] (contiguous, row-major over shape) = src[offset + Σ idx_d·strides_d] for elements of
// elem_size ∈ {1, 2, 4, 8} bytes. src points at the device copy of the storage span; offset and
// strides are in elements (offset may index from src; it must keep every read in the span).
void elem_copy_strided(const void* src, void* dst, int elem_size, const int64_t* shape,
                       const int64_t* strides, int rank, int64_t offset, int threads = 256,
                       cudaStream_t stream = nullptr);

}  // namespace lethe::LETHE_KNS
