// Row-wise im2col: for each (c, kh, kw) the output row is a strided gather from one input plane;
// the unit-stride case copies contiguous runs, with zero runs for padding at the ends.
#include "kernels/cpu/im2col.h"

#include <algorithm>
#include <cstring>

namespace lethe::kernels::cpu {

void im2col(const float* x, float* cols, const ConvGeometry& g, int64_t ld) {
  for (int64_t c = 0; c < g.c; ++c) {
    const float* plane = x + c * g.h * g.w;
    for (int64_t kh = 0; kh < g.kh; ++kh)
      for (int64_t kw = 0; kw < g.kw; ++kw) {
        float* row = cols + ((c * g.kh + kh) * g.kw + kw) * ld;
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          int64_t ih = oh * g.stride_h - g.pad_h + kh;
          float* out = row + oh * g.ow;
          if (ih < 0 || ih >= g.h) {
            std::memset(out, 0, g.ow * sizeof(float));
            continue;
          }
          const float* in = plane + ih * g.w;
          // Valid output columns: 0 <= ow*s - p + kw < W.
          int64_t iw0 = kw - g.pad_w;
          int64_t ow_lo = iw0 >= 0 ? 0 : (-iw0 + g.stride_w - 1) / g.stride_w;
          int64_t ow_hi = (g.w - iw0 + g.stride_w - 1) / g.stride_w;  // exclusive
          ow_hi = std::clamp<int64_t>(ow_hi, 0, g.ow);
          ow_lo = std::min(ow_lo, ow_hi);
          for (int64_t ow = 0; ow < ow_lo; ++ow) out[ow] = 0.f;
          if (g.stride_w == 1) {
            if (ow_hi > ow_lo) std::memcpy(out + ow_lo, in + iw0 + ow_lo, (ow_hi - ow_lo) * 4);
          } else if (g.stride_w == 2) {  // a literal stride: GCC vectorises the gather (shuffles)
            const float* src = in + iw0;
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) out[ow] = src[2 * ow];
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) out[ow] = in[ow * g.stride_w + iw0];
          }
          for (int64_t ow = ow_hi; ow < g.ow; ++ow) out[ow] = 0.f;
        }
      }
  }
}

void col2im_add(const float* cols, float* dx, const ConvGeometry& g, int64_t ld) {
  for (int64_t c = 0; c < g.c; ++c) {
    float* plane = dx + c * g.h * g.w;
    for (int64_t kh = 0; kh < g.kh; ++kh)
      for (int64_t kw = 0; kw < g.kw; ++kw) {
        const float* row = cols + ((c * g.kh + kh) * g.kw + kw) * ld;
        for (int64_t oh = 0; oh < g.oh; ++oh) {
          int64_t ih = oh * g.stride_h - g.pad_h + kh;
          if (ih < 0 || ih >= g.h) continue;
          float* out = plane + ih * g.w;
          const float* in = row + oh * g.ow;
          int64_t iw0 = kw - g.pad_w;
          int64_t ow_lo = iw0 >= 0 ? 0 : (-iw0 + g.stride_w - 1) / g.stride_w;
          int64_t ow_hi = std::clamp<int64_t>((g.w - iw0 + g.stride_w - 1) / g.stride_w, 0, g.ow);
          if (g.stride_w == 2) {  // literal stride, as in im2col
            float* dst = out + iw0;
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) dst[2 * ow] += in[ow];
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) out[ow * g.stride_w + iw0] += in[ow];
          }
        }
      }
  }
}

}  // namespace lethe::kernels::cpu
