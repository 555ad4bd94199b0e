// The CPU normalisation kernels' bodies (design: norm.h), included by norm.cpp (baseline ISA) and
// norm_avx2.cpp (AVX2) only, each compiling them for its own ISA. Everything here has internal
// linkage (anonymous namespace) so the two copies never merge at link time. The double sums run
// in explicit lanes and norm_avx2.cpp is built with -ffp-contract=off (CMakeLists.txt), so both
// copies compute the same bits; the AVX2 one does 4 doubles per instruction instead of 2.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/parallel.h"

namespace lethe::kernels::cpu {

namespace {

constexpr int kLanes = 16;

// Σ f(i) over i in [0, n) in T: 16 independent partial sums (one per lane of two AVX2 vectors
// for float; vectorisable without reassociation flags), then added in a fixed order, so the
// result does not depend on the ISA.
template <class T, class F>
T lane_sum(int64_t n, F f) {
  T part[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) part[l] += f(i + l);
  T s = 0;
  for (; i < n; ++i) s += f(i);
  for (int l = 0; l < kLanes; ++l) s += part[l];
  return s;
}
// Σ f(x[i]) in double.
template <class F>
double lane_sum_of(const float* __restrict x, int64_t n, F f) {
  return lane_sum<double>(n, [&](int64_t i) { return f(static_cast<double>(x[i])); });
}

struct Split {
  float hi, lo;
};
Split split(double v) {
  const float hi = static_cast<float>(v);
  return {hi, static_cast<float>(v - static_cast<double>(hi))};
}

struct Moments {
  double mean = 0, var = 0;  // biased variance
  int64_t count = 0;
};

// Moments of `rows` rows of `len` floats, row r at x + r·stride.
Moments moments(const float* x, int64_t rows, int64_t len, int64_t stride) {
  Moments m;
  m.count = rows * len;
  if (m.count == 0) return m;
  double s = 0;
  for (int64_t r = 0; r < rows; ++r)
    s += lane_sum_of(x + r * stride, len, [](double v) { return v; });
  m.mean = s / static_cast<double>(m.count);
  const double mu = m.mean;
  double q = 0;
  for (int64_t r = 0; r < rows; ++r)
    q += lane_sum_of(x + r * stride, len, [mu](double v) { return (v - mu) * (v - mu); });
  m.var = q / static_cast<double>(m.count);
  return m;
}

// Σ over the rows of (x − center), in double. The backward reads a float mean; this recovers
// how far it sits from the true mean (δ = Σ(x − center) / count), a constant shift of x̂.
double centered_sum(const float* x, int64_t rows, int64_t len, int64_t stride, float center) {
  const double c = center;
  double s = 0;
  for (int64_t r = 0; r < rows; ++r)
    s += lane_sum_of(x + r * stride, len, [c](double v) { return v - c; });
  return s;
}

// Σdy, Σdy·(x − center) and Σ(x − center) over the rows (x and dy share the layout), in double.
struct GradSums {
  double dy = 0, dy_xc = 0, xc = 0;
};
// Written with GCC vector types: as plain loops over three lane arrays GCC kept every lane in
// memory (scalar vaddsd with spills, 7% of a narrow ResNet step). Lane l of the two 4-double halves
// holds the sum over elements i ≡ l (mod 8), combined in lane order as before: the same bits.
GradSums grad_sums(const float* x, const float* dy, int64_t rows, int64_t len, int64_t stride,
                   float center) {
  typedef double d4 __attribute__((vector_size(32)));
  typedef float f4 __attribute__((vector_size(16)));
  constexpr int L = 8;
  const double c = center;
  const d4 cv = {c, c, c, c};
  GradSums s;
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict xr = x + r * stride;
    const float* __restrict g = dy + r * stride;
    d4 a0 = {}, a1 = {}, b0 = {}, b1 = {}, d0 = {}, d1 = {};
    int64_t i = 0;
    for (; i + L <= len; i += L) {
      f4 x0, x1, g0, g1;
      std::memcpy(&x0, xr + i, sizeof x0);
      std::memcpy(&x1, xr + i + 4, sizeof x1);
      std::memcpy(&g0, g + i, sizeof g0);
      std::memcpy(&g1, g + i + 4, sizeof g1);
      const d4 xc0 = __builtin_convertvector(x0, d4) - cv,
               xc1 = __builtin_convertvector(x1, d4) - cv;
      const d4 gv0 = __builtin_convertvector(g0, d4), gv1 = __builtin_convertvector(g1, d4);
      a0 += gv0, a1 += gv1;
      b0 += gv0 * xc0, b1 += gv1 * xc1;
      d0 += xc0, d1 += xc1;
    }
    for (; i < len; ++i) {
      const double xc = static_cast<double>(xr[i]) - c, gv = g[i];
      s.dy += gv;
      s.dy_xc += gv * xc;
      s.xc += xc;
    }
    for (int l = 0; l < 4; ++l) {
      s.dy += a0[l];
      s.dy_xc += b0[l];
      s.xc += d0[l];
    }
    for (int l = 0; l < 4; ++l) {
      s.dy += a1[l];
      s.dy_xc += b1[l];
      s.xc += d1[l];
    }
  }
  return s;
}

// y[i] = ((x[i] − hi) − lo)·scale + shift, hi + lo = mean.
void normalize(const float* __restrict x, float* __restrict y, int64_t n, double mean, float scale,
               float shift) {
  const Split m = split(mean);
  for (int64_t i = 0; i < n; ++i) y[i] = ((x[i] - m.hi) - m.lo) * scale + shift;
}

// Per-element affine: y[i] = ((x[i] − hi) − lo)·scale·w[i] + b[i] (w, b may be null).
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

void batchnorm_forward_train_impl(const float* x, const float* weight, const float* bias, float* y,
                                  float* mean, float* var, int64_t N, int64_t C, int64_t S,
                                  double eps) {
#pragma omp parallel for schedule(dynamic) if (parallel_worth(N * C * S))
  for (int64_t c = 0; c < C; ++c) {
    const Moments st = moments(x + c * S, N, S, C * S);
    mean[c] = static_cast<float>(st.mean);
    var[c] = static_cast<float>(st.var);
    const float sc = static_cast<float>((weight ? weight[c] : 1.0) / std::sqrt(st.var + eps));
    const float b = bias ? bias[c] : 0.f;
    for (int64_t n = 0; n < N; ++n)
      normalize(x + (n * C + c) * S, y + (n * C + c) * S, S, st.mean, sc, b);
  }
}

void batchnorm_forward_eval_impl(const float* x, const float* weight, const float* bias,
                                 const float* mean, const float* var, float* y, int64_t N,
                                 int64_t C, int64_t S, double eps) {
#pragma omp parallel for collapse(2) if (parallel_worth(N * C * S))
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(var[c]) + eps));
      float sc = (weight ? weight[c] : 1.f) * inv;
      float sh = (bias ? bias[c] : 0.f) - mean[c] * sc;
      const float* r = x + (n * C + c) * S;
      float* o = y + (n * C + c) * S;
      for (int64_t i = 0; i < S; ++i) o[i] = r[i] * sc + sh;
    }
}

void batchnorm_backward_impl(const float* dy, const float* x, const float* weight,
                             const float* mean, const float* var, int64_t N, int64_t C, int64_t S,
                             double eps, bool training, float* dx, float* dweight, float* dbias) {
  const double m = static_cast<double>(N * S);
#pragma omp parallel for schedule(dynamic) if (parallel_worth(N * C * S))
  for (int64_t c = 0; c < C; ++c) {
    const float mu = mean[c];
    const double inv = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    const float gi = static_cast<float>((weight ? weight[c] : 1.0) * inv);
    if (!training && !dweight && !dbias) {
      // Eval mode, frozen affine (attacks, AMUN's search): dx = dy · γ/σ, a function of dy
      // alone — the gradient sums (a pass over x and dy in double) have no reader.
      if (!dx) continue;
      for (int64_t n = 0; n < N; ++n) {
        const float* __restrict g = dy + (n * C + c) * S;
        float* __restrict o = dx + (n * C + c) * S;
        for (int64_t i = 0; i < S; ++i) o[i] = g[i] * gi;
      }
      continue;
    }
    const GradSums gs = grad_sums(x + c * S, dy + c * S, N, S, C * S, mu);
    // In training the forward centred x on the double batch mean; the saved float mean is off
    // by δ (up to half an ulp of |mean|, not small beside σ when |mean| ≫ σ): undo that shift.
    const double delta = training && m > 0 ? gs.xc / m : 0.0;
    const double sdy = gs.dy, sdyx = (gs.dy_xc - delta * gs.dy) * inv;
    if (dweight) dweight[c] = static_cast<float>(sdyx);
    if (dbias) dbias[c] = static_cast<float>(sdy);
    if (!dx) continue;
    const float k1 = training ? static_cast<float>(sdy / m) : 0.f;
    const float k2 = training ? static_cast<float>(sdyx / m * inv) : 0.f;
    const float df = static_cast<float>(delta);
    for (int64_t n = 0; n < N; ++n) {
      const float* __restrict r = x + (n * C + c) * S;
      const float* __restrict g = dy + (n * C + c) * S;
      float* __restrict o = dx + (n * C + c) * S;
      for (int64_t i = 0; i < S; ++i) o[i] = (g[i] - k1 - ((r[i] - mu) - df) * k2) * gi;
    }
  }
}

void layernorm_forward_impl(const float* x, const float* weight, const float* bias, float* y,
                            float* mean, float* rstd, int64_t R, int64_t D, double eps) {
#pragma omp parallel for if (parallel_worth(R * D))
  for (int64_t r = 0; r < R; ++r) {
    // Two passes in double, output centred on the double mean.
    const Moments st = moments(x + r * D, 1, D, D);
    const double inv = 1.0 / std::sqrt(st.var + eps);
    mean[r] = static_cast<float>(st.mean);
    rstd[r] = static_cast<float>(inv);
    normalize_affine(x + r * D, y + r * D, D, st.mean, static_cast<float>(inv), weight, bias);
  }
}

void layernorm_backward_impl(const float* dy, const float* x, const float* weight,
                             const float* mean, const float* rstd, float* dx, float* dweight,
                             float* dbias, int64_t R, int64_t D) {
  const int T = nthreads();
  std::vector<double> part(static_cast<size_t>(T) * 2 * D, 0.0);
#pragma omp parallel num_threads(T) if (R * D > kParallelGrain && T > 1)
  {
    double* __restrict acc = part.data() + static_cast<size_t>(omp_get_thread_num()) * 2 * D;
    // dweight/dbias: float partial sums over up to 32 rows (vectorised), flushed into double.
    std::vector<float> buf(static_cast<size_t>(4 * D), 0.0f);
    float* __restrict xh = buf.data(), * __restrict gw = buf.data() + D;
    float* __restrict acc_f = buf.data() + 2 * D;
    int rows_in_f = 0;
    auto flush = [&] {
      for (int64_t d = 0; d < 2 * D; ++d) {
        acc[d] += acc_f[d];
        acc_f[d] = 0.0f;
      }
      rows_in_f = 0;
    };
#pragma omp for
    for (int64_t r = 0; r < R; ++r) {
      const float* __restrict row = x + r * D, * __restrict g = dy + r * D;
      const float mu = mean[r], inv = rstd[r];
      // The saved float mean is off the forward's double mean by δ: centre on the latter.
      const float delta =
          static_cast<float>(centered_sum(row, 1, D, D, mu) / static_cast<double>(D));
      for (int64_t d = 0; d < D; ++d) xh[d] = ((row[d] - mu) - delta) * inv;
      for (int64_t d = 0; d < D; ++d) {
        acc_f[d] += g[d] * xh[d];
        acc_f[D + d] += g[d];
      }
      if (++rows_in_f == 32) flush();
      if (!dx) continue;
      if (weight)
        for (int64_t d = 0; d < D; ++d) gw[d] = g[d] * weight[d];
      else
        std::copy(g, g + D, gw);
      const float s1 = lane_sum<float>(D, [&](int64_t d) { return gw[d]; }) / static_cast<float>(D);
      const float s2 =
          lane_sum<float>(D, [&](int64_t d) { return gw[d] * xh[d]; }) / static_cast<float>(D);
      float* __restrict o = dx + r * D;
      for (int64_t d = 0; d < D; ++d) o[d] = inv * (gw[d] - s1 - xh[d] * s2);
    }
    flush();
  }
  for (int64_t d = 0; d < D; ++d) {
    double w = 0, b = 0;
    for (int t = 0; t < T; ++t) {
      w += part[static_cast<size_t>(t) * 2 * D + d];
      b += part[static_cast<size_t>(t) * 2 * D + D + d];
    }
    if (dweight) dweight[d] = static_cast<float>(w);
    if (dbias) dbias[d] = static_cast<float>(b);
  }
}

}  // namespace
}  // namespace lethe::kernels::cpu
