// Pooling CPU kernels (see pool.h): forward a loop over each plane's outputs, backward a scatter
// into the zeroed plane in output order.
#include "kernels/cpu/pool.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "kernels/common/pool_window.h"
#include "kernels/cpu/parallel.h"

namespace lethe::kernels::cpu {
namespace {

// Σ of a plane's window, in row order.
float window_sum(const float* plane, int64_t W, const PoolWindow& w) {
  float s = 0;
  for (int64_t ih = w.h0; ih < w.h1; ++ih)
    for (int64_t iw = w.w0; iw < w.w1; ++iw) s += plane[ih * W + iw];
  return s;
}
// Adds g to a plane's window.
void window_add(float* plane, int64_t W, const PoolWindow& w, float g) {
  for (int64_t ih = w.h0; ih < w.h1; ++ih)
    for (int64_t iw = w.w0; iw < w.w1; ++iw) plane[ih * W + iw] += g;
}

// Average and adaptive-average pooling differ only in their windows (`window_of(oh, ow)`).
template <class WindowOf>
void window_mean_forward(const float* x, float* y, int64_t P, int64_t H, int64_t W, int64_t OH,
                         int64_t OW, const WindowOf& window_of) {
#pragma omp parallel for if (parallel_worth(P * H * W))
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const PoolWindow w = window_of(oh, ow);
        y[(p * OH + oh) * OW + ow] = window_sum(x + p * H * W, W, w) / static_cast<float>(w.count);
      }
}

template <class WindowOf>
void window_mean_backward(const float* dy, float* dx, int64_t P, int64_t H, int64_t W, int64_t OH,
                          int64_t OW, const WindowOf& window_of) {
#pragma omp parallel for if (parallel_worth(P * H * W))
  for (int64_t p = 0; p < P; ++p) {
    float* o = dx + p * H * W;
    std::memset(o, 0, H * W * sizeof(float));
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const PoolWindow w = window_of(oh, ow);
        window_add(o, W, w, dy[(p * OH + oh) * OW + ow] / static_cast<float>(w.count));
      }
  }
}

}  // namespace

void max_pool2d_forward(const float* x, float* y, int64_t* idx, int64_t P, int64_t H, int64_t W,
                        int64_t OH, int64_t OW, const Pool2dArgs& a) {
#pragma omp parallel for if (parallel_worth(P * H * W))
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const PoolWindow w = max_pool_window(oh, ow, H, W, a);
        float best = -std::numeric_limits<float>::infinity();
        int64_t bi = -1;
        for (int64_t ih = w.h0; ih < w.h1; ++ih)
          for (int64_t iw = w.w0; iw < w.w1; ++iw) {
            float v = x[p * H * W + ih * W + iw];
            if (v > best || bi < 0 || std::isnan(v)) {
              best = v;
              bi = ih * W + iw;
            }
          }
        y[(p * OH + oh) * OW + ow] = best;
        idx[(p * OH + oh) * OW + ow] = bi;
      }
}

void max_pool2d_backward(const float* dy, const int64_t* idx, float* dx, int64_t P, int64_t HW,
                         int64_t OHW) {
#pragma omp parallel for if (parallel_worth(P * HW))
  for (int64_t p = 0; p < P; ++p) {
    float* o = dx + p * HW;
    std::memset(o, 0, HW * sizeof(float));
    for (int64_t k = 0; k < OHW; ++k) o[idx[p * OHW + k]] += dy[p * OHW + k];
  }
}

void avg_pool2d_forward(const float* x, float* y, int64_t P, int64_t H, int64_t W, int64_t OH,
                        int64_t OW, const Pool2dArgs& a) {
  window_mean_forward(x, y, P, H, W, OH, OW,
                      [&](int64_t oh, int64_t ow) { return avg_pool_window(oh, ow, H, W, a); });
}

void avg_pool2d_backward(const float* dy, float* dx, int64_t P, int64_t H, int64_t W, int64_t OH,
                         int64_t OW, const Pool2dArgs& a) {
  window_mean_backward(dy, dx, P, H, W, OH, OW,
                       [&](int64_t oh, int64_t ow) { return avg_pool_window(oh, ow, H, W, a); });
}

void adaptive_avg_pool2d_forward(const float* x, float* y, int64_t P, int64_t H, int64_t W,
                                 int64_t OH, int64_t OW) {
  window_mean_forward(x, y, P, H, W, OH, OW, [&](int64_t oh, int64_t ow) {
    return adaptive_pool_window(oh, ow, H, W, OH, OW);
  });
}

void adaptive_avg_pool2d_backward(const float* dy, float* dx, int64_t P, int64_t H, int64_t W,
                                  int64_t OH, int64_t OW) {
  window_mean_backward(dy, dx, P, H, W, OH, OW, [&](int64_t oh, int64_t ow) {
    return adaptive_pool_window(oh, ow, H, W, OH, OW);
  });
}

}  // namespace lethe::kernels::cpu
