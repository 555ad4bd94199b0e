// Normalization statistics: two-pass, double lanes (see norm.h).
#include "kernels/cpu/norm.h"

namespace lethe::kernels::cpu {
namespace {

constexpr int kLanes = 16;

// Σ f(x[i]) over i in [0, n) in double: 16 independent partial sums (vectorisable without
// reassociation), then added in a fixed order, so the result does not depend on the ISA.
template <class F>
double lane_sum(const float* __restrict x, int64_t n, F f) {
  double part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) part[l] += f(static_cast<double>(x[i + l]));
  double s = 0;
  for (; i < n; ++i) s += f(static_cast<double>(x[i]));
  for (int l = 0; l < kLanes; ++l) s += part[l];
  return s;
}

struct Split {
  float hi, lo;
};
Split split(double v) {
  const float hi = static_cast<float>(v);
  return {hi, static_cast<float>(v - static_cast<double>(hi))};
}

}  // namespace

Moments moments(const float* x, int64_t rows, int64_t len, int64_t stride) {
  Moments m;
  m.count = rows * len;
  if (m.count == 0) return m;
  double s = 0;
  for (int64_t r = 0; r < rows; ++r) s += lane_sum(x + r * stride, len, [](double v) { return v; });
  m.mean = s / static_cast<double>(m.count);
  const double mu = m.mean;
  double q = 0;
  for (int64_t r = 0; r < rows; ++r)
    q += lane_sum(x + r * stride, len, [mu](double v) { return (v - mu) * (v - mu); });
  m.var = q / static_cast<double>(m.count);
  return m;
}

double centered_sum(const float* x, int64_t rows, int64_t len, int64_t stride, float center) {
  const double c = center;
  double s = 0;
  for (int64_t r = 0; r < rows; ++r)
    s += lane_sum(x + r * stride, len, [c](double v) { return v - c; });
  return s;
}

GradSums grad_sums(const float* x, const float* dy, int64_t rows, int64_t len, int64_t stride,
                   float center) {
  constexpr int L = 8;  // three sums × 8 lanes stay in registers
  const double c = center;
  GradSums s;
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * stride;
    const float* __restrict g = dy + r * stride;
    double a[L] = {}, b[L] = {}, d[L] = {};
    int64_t i = 0;
    for (; i + L <= len; i += L)
      for (int l = 0; l < L; ++l) {
        const double xc = static_cast<double>(xr[i + l]) - c, gv = g[i + l];
        a[l] += gv;
        b[l] += gv * xc;
        d[l] += xc;
      }
    for (; i < len; ++i) {
      const double xc = static_cast<double>(xr[i]) - c, gv = g[i];
      s.dy += gv;
      s.dy_xc += gv * xc;
      s.xc += xc;
    }
    for (int l = 0; l < L; ++l) {
      s.dy += a[l];
      s.dy_xc += b[l];
      s.xc += d[l];
    }
  }
  return s;
}

void normalize(const float* __restrict x, float* __restrict y, int64_t n, double mean, float scale,
               float shift) {
  const Split m = split(mean);
  for (int64_t i = 0; i < n; ++i) y[i] = ((x[i] - m.hi) - m.lo) * scale + shift;
}

void normalize_affine(const float* __restrict x, float* __restrict y, int64_t n, double mean,
                      float scale, const float* __restrict w, const float* __restrict b) {
  const Split m = split(mean);
  if (w && b) {
    for (int64_t i = 0; i < n; ++i) y[i] = ((x[i] - m.hi) - m.lo) * scale * w[i] + b[i];
  } else {
    for (int64_t i = 0; i < n; ++i) {
      float t = ((x[i] - m.hi) - m.lo) * scale;
      if (w) t *= w[i];
      if (b) t += b[i];
      y[i] = t;
    }
  }
}

}  // namespace lethe::kernels::cpu
