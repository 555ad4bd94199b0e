// Elementwise CPU kernels on float32: unary ops and their backward, binary ops (same shape or
// numpy broadcasting), sums over dimensions, strided copies, and inverted dropout. Raw pointers,
// the op kinds of kernels/common/op_kinds.h; the math is kernels/common/functors.h (GELU through
// the vectorised kernels/cpu/vmath.h). Threads: kernels/cpu/parallel.h.
#pragma once
#include <cstdint>

#include "kernels/common/op_kinds.h"

namespace lethe::kernels::cpu {

// y[i] = f(x[i]).
void unary(UnaryOp op, const UnaryParams& p, const float* x, float* y, int64_t n);
// dx[i] = dy[i]·f'(x[i]), y = f(x): each functor reads x or y as it declares (`saves`).
void unary_backward(UnaryOp op, const UnaryParams& p, const float* x, const float* y,
                    const float* dy, float* dx, int64_t n);
// c[i] = a[i] ∘ b[i] (same shape).
void binary(BinaryOp op, const float* a, const float* b, float* c, int64_t n);
// c = a ∘ b with numpy broadcasting: c is contiguous of shape c_shape[0..rank);
// a_strides / b_strides are each input's element strides against c's dimensions (0 where it
// broadcasts; the last dimension's stride is 0 or 1).
void binary_broadcast(BinaryOp op, const float* a, const float* b, float* c, const int64_t* c_shape,
                      const int64_t* a_strides, const int64_t* b_strides, int rank);
// y = Σ of x (contiguous, x_shape) over the dimensions where y_shape is 1 and x_shape is not;
// same rank. Per-thread partial sums in double, added in thread order (the result depends on
// the thread count).
void reduce_sum(const float* x, float* y, const int64_t* x_shape, const int64_t* y_shape, int rank);
// dst (contiguous, row-major over shape) [i] = src[Σ idx_d·strides_d] (strides in elements).
void copy_strided(const float* src, float* dst, const int64_t* shape, const int64_t* strides,
                  int rank);
// Inverted dropout: mask[i] = (uniform_at(seed, i) ≥ p) (kernels/common/philox.h, the same bits
// as every backend), y = x·mask/(1 − p).
void dropout_forward(const float* x, float* y, uint8_t* mask, int64_t n, double p, uint64_t seed);
void dropout_backward(const float* dy, const uint8_t* mask, float* dx, int64_t n, double p);
// out[i] = mask[i] ? a[i] : b[i], bit for bit; out may alias a or b.
void select(const uint8_t* mask, const float* a, const float* b, float* out, int64_t n);

}  // namespace lethe::kernels::cpu
