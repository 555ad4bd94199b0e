// The sizes of one 2-d convolution in NCHW, the single description every convolution kernel
// takes: the CPU im2col / col2im (kernels/cpu/im2col.h) and the CPU backend built on it
// (engine/backend/cpu/conv.cpp), the CUDA kernels (kernels/cuda/conv.cuh, passed by value to the
// device) and the benchmarks. x [n, c, h, w], w [o, c, kh, kw], y [n, o, oh, ow]; oh and ow are
// the output tensor's (the caller's), not recomputed here.
#pragma once
#include <cstdint>

#include "kernels/common/hd.h"

namespace lethe::kernels {

struct ConvGeometry {
  int64_t n, c, h, w, o, kh, kw, oh, ow, stride_h, stride_w, pad_h, pad_w;

  // Rows of one image's column matrix (c·kh·kw), its columns (oh·ow), one input image (c·h·w).
  LETHE_HD int64_t ckk() const { return c * kh * kw; }
  LETHE_HD int64_t ohw() const { return oh * ow; }
  LETHE_HD int64_t chw() const { return c * h * w; }
  // 1×1, stride 1, no padding: the column matrix of an image is the image itself.
  LETHE_HD bool pointwise() const {
    return kh == 1 && kw == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0 &&
           oh == h && ow == w;
  }
};

}  // namespace lethe::kernels
