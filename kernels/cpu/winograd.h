// 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016), NCHW float32.
//
// Each 2×2 output tile comes from a 4×4 input tile: V = Bᵀ d B (input), U = G g Gᵀ (filter), and
// for each of the 16 transformed positions ξ a GEMM M_ξ[O, T] = U_ξ[O, C] · V_ξ[C, T] over all
// tiles T of a chunk of images; then Y = Aᵀ M A. 16 multiplies per 4 outputs instead of 36:
// the GEMMs do 2.25× fewer flops than im2col's, paid for with the transforms' memory passes.
// Layout: U[ξ][o][c], V[ξ][c][t], M[ξ][o][t] with t = (image·tiles_h + ti)·tiles_w + tj, so each
// GEMM is row-major with unit-stride columns. Threads: transforms split over (image, channel),
// the 16 GEMMs over ξ (one single-threaded GEMM each); narrow layers run whole chunks per thread.
// On the AVX2/AVX-512 paths with C and O multiples of 8 the transforms work on 8 channels per
// vector in a channel-minor layout instead (winograd_blocked.h). The weight gradient runs the same
// machinery transposed: dU_ξ[O, C] = dM_ξ[O, T] · V_ξ[C, T]ᵀ with dM = A dY Aᵀ, dw = Gᵀ dU G.
#pragma once
#include <cstdint>

namespace lethe::kernels::cpu {

struct Winograd3x3Geom {
  int64_t N, C, H, W;  // input
  int64_t O;           // output channels
  int64_t pad_h, pad_w;
  int64_t OH, OW;  // = H + 2·pad_h − 2, W + 2·pad_w − 2
};

// Floats of workspace winograd_f2x3 needs for this geometry and chunk size.
int64_t winograd_f2x3_workspace(const Winograd3x3Geom& g, int64_t max_tiles);
// Tiles per chunk chosen for a geometry (bounds the workspace to ~32 MiB).
int64_t winograd_f2x3_default_tiles(const Winograd3x3Geom& g);

// Whether this geometry runs in the channel-blocked layout on the current CPU path (AVX2 or wider,
// C and O multiples of 8: winograd_blocked.h) rather than the portable one. Same workspace size.
bool winograd_f2x3_channel_blocked(const Winograd3x3Geom& g);

// y[N, O, OH, OW] = conv3x3(x, w) + bias (bias may be null); y is fully written.
// w is [O, C, 3, 3]. With flip_transpose, w is instead an [C, O, 3, 3] tensor applied rotated by
// 180° and with its two channel axes swapped — the backward-data convolution of a forward conv
// whose weight that is. `workspace` holds winograd_f2x3_workspace(g, max_tiles) floats.
// `filters`, when not null, is w already transformed by winograd_f2x3_filters (same geometry,
// same flip_transpose, same CPU path): the call then skips the filter transform and reads w not
// at all — a caller whose weights do not change between calls (attacks) transforms them once.
void winograd_f2x3(const float* x, const float* w, const float* bias, float* y,
                   const Winograd3x3Geom& g, bool flip_transpose, int64_t max_tiles,
                   float* workspace, const float* filters = nullptr);

// The transformed filters U of w, in the layout winograd_f2x3 uses for g on the current CPU path
// (winograd_f2x3_channel_blocked): winograd_f2x3_filter_floats(g) floats.
int64_t winograd_f2x3_filter_floats(const Winograd3x3Geom& g);
void winograd_f2x3_filters(const float* w, const Winograd3x3Geom& g, bool flip_transpose,
                           float* filters);

// dw[O, C, 3, 3] = ∂L/∂w of y = conv3x3(x, w) given dy[N, O, OH, OW], summed over the batch
// (dw fully written; no bias gradient). Same geometry, chunking and workspace size as the forward.
void winograd_f2x3_weight_grad(const float* x, const float* dy, float* dw, const Winograd3x3Geom& g,
                               int64_t max_tiles, float* workspace);

}  // namespace lethe::kernels::cpu
