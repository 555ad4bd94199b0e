// The input window of one output element of 2-d pooling, the single definition cpu_ref, the CPU
// kernels (kernels/cpu/pool.cpp) and the CUDA kernels (kernels/cuda/pool.cu) use. Windows are
// clipped to the input: rows [h0, h1), columns [w0, w1), visited in that order by every backend.
#pragma once
#include <cstdint>

#include "kernels/common/hd.h"
#include "kernels/common/op_kinds.h"

namespace lethe::kernels {

struct PoolWindow {
  int64_t h0, h1, w0, w1;
  int64_t count;  // the average's divisor
};

// Max pooling: [o·stride − pad, … + kernel) clipped to the input; count is the clipped size.
LETHE_HD inline PoolWindow max_pool_window(int64_t oh, int64_t ow, int64_t H, int64_t W,
                                           const Pool2dArgs& a) {
  const int64_t h0 = oh * a.stride_h - a.pad_h, w0 = ow * a.stride_w - a.pad_w;
  const int64_t h1 = h0 + a.kernel_h < H ? h0 + a.kernel_h : H;
  const int64_t w1 = w0 + a.kernel_w < W ? w0 + a.kernel_w : W;
  PoolWindow r{h0 < 0 ? 0 : h0, h1, w0 < 0 ? 0 : w0, w1, 0};
  r.count = (r.h1 - r.h0) * (r.w1 - r.w0);
  return r;
}

// Average pooling with PyTorch's count_include_pad: the window clipped to the padded extent gives
// the count, then clipped to the input the elements summed.
LETHE_HD inline PoolWindow avg_pool_window(int64_t oh, int64_t ow, int64_t H, int64_t W,
                                           const Pool2dArgs& a) {
  const int64_t h0 = oh * a.stride_h - a.pad_h, w0 = ow * a.stride_w - a.pad_w;
  const int64_t h1 = h0 + a.kernel_h < H + a.pad_h ? h0 + a.kernel_h : H + a.pad_h;
  const int64_t w1 = w0 + a.kernel_w < W + a.pad_w ? w0 + a.kernel_w : W + a.pad_w;
  return {h0 < 0 ? 0 : h0, h1 < H ? h1 : H, w0 < 0 ? 0 : w0, w1 < W ? w1 : W,
          (h1 - h0) * (w1 - w0)};
}

// Adaptive average pooling (PyTorch's windows): output o of `out` covers [⌊o·in/out⌋,
// ⌈(o+1)·in/out⌉) of `in`.
LETHE_HD inline int64_t adaptive_start(int64_t o, int64_t in, int64_t out) {
  return (o * in) / out;
}
LETHE_HD inline int64_t adaptive_end(int64_t o, int64_t in, int64_t out) {
  return ((o + 1) * in + out - 1) / out;
}
LETHE_HD inline PoolWindow adaptive_pool_window(int64_t oh, int64_t ow, int64_t H, int64_t W,
                                                int64_t OH, int64_t OW) {
  PoolWindow r{adaptive_start(oh, H, OH), adaptive_end(oh, H, OH), adaptive_start(ow, W, OW),
               adaptive_end(ow, W, OW), 0};
  r.count = (r.h1 - r.h0) * (r.w1 - r.w0);
  return r;
}

}  // namespace lethe::kernels
