// im2col / col2im for one image in NCHW: cols is [C·KH·KW, OH·OW] with row stride ld ≥ OH·OW,
// row (c,kh,kw), so that conv2d is W[O, C·KH·KW] × cols. A row stride larger than OH·OW lets the
// caller lay several images side by side (image i at column i·OH·OW) for one wider GEMM.
// Single-threaded: the caller parallelizes over images.
#pragma once
// Geometry: kernels/common/conv_geometry.h (shared with the CUDA kernels; n and o are not read).
#include <cstdint>

#include "kernels/common/conv_geometry.h"

namespace lethe::kernels::cpu {

using kernels::ConvGeometry;

void im2col(const float* x, float* cols, const ConvGeometry& g, int64_t ld);
// dx += col2im(cols) (dx must be zeroed by the caller for a plain write).
void col2im_add(const float* cols, float* dx, const ConvGeometry& g, int64_t ld);

}  // namespace lethe::kernels::cpu
