// Channel-blocked data transforms of the F(2×2, 3×3) Winograd convolution (winograd.h), internal
// to kernels/cpu. Used when the CPU path is AVX2 or wider and C and O are multiples of 8: eight
// channels ride in one AVX2 vector, so each 4×4 tile is 16 vector loads, 32 adds and 16 stores
// whatever the plane size (the portable transforms vectorise along a tile row: short rows — 14,
// 7, 4, 2 tiles in the narrow ResNet — left them mostly loop overhead).
// Layouts (t = (image·tiles_h + ti)·tiles_w + tj over a chunk of T tiles):
//   V[ξ][t][c]   transformed inputs (the forward GEMM's A: T×C, row-major)
//   M[ξ][t][o]   transformed outputs or output gradients (T×O)
//   U[ξ][c][o]   transformed filters (C×O), built by winograd.cpp
// NCHW planes are moved to and from 8-channel-interleaved planes by 8×8 register transposes.
#pragma once
#include <cstdint>

#include "kernels/cpu/winograd.h"

namespace lethe::kernels::cpu::detail {

// V for the images [n0, n0 + count) of x (g.C % 8 == 0).
void winograd_inputs_c8_avx2(const float* x, const Winograd3x3Geom& g, int64_t n0, int64_t count,
                             int64_t T, float* V);
// y (+ bias, may be null) for the images [n0, n0 + count) from M (g.O % 8 == 0).
void winograd_outputs_c8_avx2(const float* M, const float* bias, const Winograd3x3Geom& g,
                              int64_t n0, int64_t count, int64_t T, float* y);
// dM = A dY Aᵀ per 2×2 tile of dy for the images [n0, n0 + count) (g.O % 8 == 0); tiles over the
// ragged edge see zeros.
void winograd_grad_outputs_c8_avx2(const float* dy, const Winograd3x3Geom& g, int64_t n0,
                                   int64_t count, int64_t T, float* dM);

}  // namespace lethe::kernels::cpu::detail
