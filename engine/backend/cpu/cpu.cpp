#include "engine/backend/cpu/cpu.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/backend/cpu/cpu_common.h"
#include "engine/backend/dispatch.h"
#include "kernels/common/philox.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/norm.h"
#include "kernels/cpu/vmath.h"

namespace lethe {
namespace {

namespace kc = kernels::cpu;
using namespace cpu_detail;

// Splits [0, n) into one contiguous chunk per thread (when n is worth it) and calls f(begin, end).
template <class F>
void parallel_chunks(int64_t n, F f) {
  const int T = n > kParallelGrain ? nthreads() : 1;
#pragma omp parallel num_threads(T) if (T > 1)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t b = n * t / nt, e = n * (t + 1) / nt;
    if (e > b) f(b, e);
  }
}

// Elementwise loops as functions with restrict parameters: GCC vectorizes these (branch-free
// selects for relu/abs/clamp); written inside capturing lambdas the loops stayed scalar.
template <class F>
void map_unary(F f, const float* __restrict x, float* __restrict y, int64_t n) {
#pragma omp parallel for simd if (parallel : n > kParallelGrain && nthreads() > 1)
  for (int64_t i = 0; i < n; ++i) y[i] = f.fwd(x[i]);
}
template <class F>
void map_unary_backward(F f, const float* __restrict x, const float* __restrict y,
                        const float* __restrict dy, float* __restrict dx, int64_t n) {
#pragma omp parallel for simd if (parallel : n > kParallelGrain && nthreads() > 1)
  for (int64_t i = 0; i < n; ++i) dx[i] = f.bwd(x[i], y[i], dy[i]);
}
template <class F>
void map_binary(F f, const float* __restrict a, const float* __restrict b, float* __restrict c,
                int64_t n) {
#pragma omp parallel for simd if (parallel : n > kParallelGrain && nthreads() > 1)
  for (int64_t i = 0; i < n; ++i) c[i] = f(a[i], b[i]);
}

}  // namespace

void CpuBackend::bmm(const Tensor& a, const Tensor& b, Tensor& c, bool ta, bool tb,
                     bool accumulate) {
  if (!f32(c)) return CpuRefBackend::bmm(a, b, c, ta, tb, accumulate);
  int64_t B = c.size(0), M = c.size(1), N = c.size(2);
  int64_t K = ta ? a.size(1) : a.size(2);
  int64_t Bb = b.size(0);
  const float *A = cf(a), *Bp = cf(b);
  float* C = mf(c);
  int64_t lda = ta ? M : K, ldb = tb ? K : N;
  float beta = accumulate ? 1.f : 0.f;
  auto one = [&](int64_t i) {
    kc::sgemm(ta, tb, M, N, K, 1.f, A + i * M * K, lda, Bp + (Bb == 1 ? 0 : i) * K * N, ldb, beta,
              C + i * M * N, N);
  };
  // Many small products (attention heads): one per thread; a few large ones: GEMM's threads.
  if (B >= 2 && M * N * K < (1 << 21)) {
#pragma omp parallel for schedule(dynamic) if (nthreads() > 1)
    for (int64_t i = 0; i < B; ++i) one(i);
  } else {
    for (int64_t i = 0; i < B; ++i) one(i);
  }
}

void CpuBackend::batch_norm_forward_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                          Tensor& y, Tensor& mean, Tensor& var, double eps) {
  if (!f32(x)) return CpuRefBackend::batch_norm_forward_train(x, weight, bias, y, mean, var, eps);
  auto [N, C, S] = ncs(x);
  const float *xp = cf(x), *wp = cf(weight), *bp = cf(bias);
  float *yp = mf(y), *mp = mf(mean), *vp = mf(var);
#pragma omp parallel for schedule(dynamic) if (x.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t c = 0; c < C; ++c) {
    // Two passes in double (kernels/cpu/norm.h): a one-pass E[x²] − E[x]² lost the variance's
    // digits whenever the channel's mean sat far from its spread.
    const kc::Moments st = kc::moments(xp + c * S, N, S, C * S);
    mp[c] = static_cast<float>(st.mean);
    vp[c] = static_cast<float>(st.var);
    const float sc = static_cast<float>((wp ? wp[c] : 1.0) / std::sqrt(st.var + eps));
    const float b = bp ? bp[c] : 0.f;
    for (int64_t n = 0; n < N; ++n)
      kc::normalize(xp + (n * C + c) * S, yp + (n * C + c) * S, S, st.mean, sc, b);
  }
}

void CpuBackend::batch_norm_forward_eval(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                         const Tensor& mean, const Tensor& var, Tensor& y,
                                         double eps) {
  if (!f32(x)) return CpuRefBackend::batch_norm_forward_eval(x, weight, bias, mean, var, y, eps);
  auto [N, C, S] = ncs(x);
  const float *xp = cf(x), *wp = cf(weight), *bp = cf(bias), *mp = cf(mean), *vp = cf(var);
  float* yp = mf(y);
#pragma omp parallel for collapse(2) if (x.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      float inv = static_cast<float>(1.0 / std::sqrt(static_cast<double>(vp[c]) + eps));
      float sc = (wp ? wp[c] : 1.f) * inv;
      float sh = (bp ? bp[c] : 0.f) - mp[c] * sc;
      const float* r = xp + (n * C + c) * S;
      float* o = yp + (n * C + c) * S;
      for (int64_t i = 0; i < S; ++i) o[i] = r[i] * sc + sh;
    }
}

void CpuBackend::batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                     const Tensor& mean, const Tensor& var, double eps,
                                     bool training, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  if (!f32(x))
    return CpuRefBackend::batch_norm_backward(dy, x, weight, mean, var, eps, training, dx, dweight,
                                              dbias);
  auto [N, C, S] = ncs(x);
  const float *xp = cf(x), *dyp = cf(dy), *wp = cf(weight), *mp = cf(mean), *vp = cf(var);
  float *dxp = mf(dx), *dwp = mf(dweight), *dbp = mf(dbias);
  const double m = static_cast<double>(N * S);
#pragma omp parallel for schedule(dynamic) if (x.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t c = 0; c < C; ++c) {
    const float mu = mp[c];
    const double inv = 1.0 / std::sqrt(static_cast<double>(vp[c]) + eps);
    const kc::GradSums gs = kc::grad_sums(xp + c * S, dyp + c * S, N, S, C * S, mu);
    // In training the forward centred x on the double batch mean; the saved float mean is off
    // by δ (up to half an ulp of |mean|, not small beside σ when |mean| ≫ σ): undo that shift.
    const double delta = training && m > 0 ? gs.xc / m : 0.0;
    const double sdy = gs.dy, sdyx = (gs.dy_xc - delta * gs.dy) * inv;
    if (dwp) dwp[c] = static_cast<float>(sdyx);
    if (dbp) dbp[c] = static_cast<float>(sdy);
    if (!dxp) continue;
    const float gi = static_cast<float>((wp ? wp[c] : 1.0) * inv);
    const float k1 = training ? static_cast<float>(sdy / m) : 0.f;
    const float k2 = training ? static_cast<float>(sdyx / m * inv) : 0.f;
    const float df = static_cast<float>(delta);
    for (int64_t n = 0; n < N; ++n) {
      const float* __restrict r = xp + (n * C + c) * S;
      const float* __restrict g = dyp + (n * C + c) * S;
      float* __restrict o = dxp + (n * C + c) * S;
      for (int64_t i = 0; i < S; ++i) o[i] = (g[i] - k1 - ((r[i] - mu) - df) * k2) * gi;
    }
  }
}

namespace {
// Float sums in a fixed order do not vectorise (no -ffast-math): 16 partial sums, one per lane
// of two AVX2 vectors, then added up. Σ f(d) for d in [0, n).
constexpr int kSumLanes = 16;
template <class F>
float lane_sum(int64_t n, F f) {
  float part[kSumLanes] = {};
  int64_t d = 0;
  for (; d + kSumLanes <= n; d += kSumLanes)
    for (int l = 0; l < kSumLanes; ++l) part[l] += f(d + l);
  float s = 0;
  for (; d < n; ++d) s += f(d);
  for (int l = 0; l < kSumLanes; ++l) s += part[l];
  return s;
}
}  // namespace

void CpuBackend::layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                    Tensor& y, Tensor& mean, Tensor& rstd, double eps) {
  if (!f32(x)) return CpuRefBackend::layer_norm_forward(x, weight, bias, y, mean, rstd, eps);
  int64_t R = x.size(0), D = x.size(1);
  const float *xp = cf(x), *wp = cf(weight), *bp = cf(bias);
  float *yp = mf(y), *mp = mf(mean), *rp = mf(rstd);
#pragma omp parallel for if (x.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t r = 0; r < R; ++r) {
    // Two passes in double, output centred on the double mean (kernels/cpu/norm.h).
    const kc::Moments st = kc::moments(xp + r * D, 1, D, D);
    const double inv = 1.0 / std::sqrt(st.var + eps);
    mp[r] = static_cast<float>(st.mean);
    rp[r] = static_cast<float>(inv);
    kc::normalize_affine(xp + r * D, yp + r * D, D, st.mean, static_cast<float>(inv), wp, bp);
  }
}

void CpuBackend::layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                     const Tensor& mean, const Tensor& rstd, Tensor& dx,
                                     Tensor& dweight, Tensor& dbias) {
  if (!f32(x))
    return CpuRefBackend::layer_norm_backward(dy, x, weight, mean, rstd, dx, dweight, dbias);
  int64_t R = x.size(0), D = x.size(1);
  const float *xp = cf(x), *dyp = cf(dy), *wp = cf(weight), *mp = cf(mean), *rp = cf(rstd);
  float *dxp = mf(dx), *dwp = mf(dweight), *dbp = mf(dbias);
  int T = nthreads();
  std::vector<double> part(static_cast<size_t>(T) * 2 * D, 0.0);
#pragma omp parallel num_threads(T) if (x.numel() > kParallelGrain && T > 1)
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
      const float* __restrict row = xp + r * D, * __restrict g = dyp + r * D;
      const float mu = mp[r], inv = rp[r];
      // The saved float mean is off the forward's double mean by δ: centre on the latter.
      const float delta =
          static_cast<float>(kc::centered_sum(row, 1, D, D, mu) / static_cast<double>(D));
      for (int64_t d = 0; d < D; ++d) xh[d] = ((row[d] - mu) - delta) * inv;
      for (int64_t d = 0; d < D; ++d) {
        acc_f[d] += g[d] * xh[d];
        acc_f[D + d] += g[d];
      }
      if (++rows_in_f == 32) flush();
      if (!dxp) continue;
      if (wp)
        for (int64_t d = 0; d < D; ++d) gw[d] = g[d] * wp[d];
      else
        std::copy(g, g + D, gw);
      const float s1 = lane_sum(D, [&](int64_t d) { return gw[d]; }) / static_cast<float>(D);
      const float s2 =
          lane_sum(D, [&](int64_t d) { return gw[d] * xh[d]; }) / static_cast<float>(D);
      float* __restrict o = dxp + r * D;
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
    if (dwp) dwp[d] = static_cast<float>(w);
    if (dbp) dbp[d] = static_cast<float>(b);
  }
}

void CpuBackend::unary(UnaryOp op, const Tensor& x, Tensor& y, const UnaryParams& p) {
  if (!f32(x)) return CpuRefBackend::unary(op, x, y, p);
  const float* xp = cf(x);
  float* yp = mf(y);
  int64_t n = x.numel();
  if (op == UnaryOp::Gelu) {  // vectorised erf (kernels/cpu/vmath.h); std::erf does not vectorise
    return parallel_chunks(n,
                           [&](int64_t b, int64_t e) { kc::gelu_forward(xp + b, yp + b, e - b); });
  }
  with_unary(op, p, [&](auto f) { map_unary(f, xp, yp, n); });
}

void CpuBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                                Tensor& dx, const UnaryParams& p) {
  if (!f32(dy)) return CpuRefBackend::unary_backward(op, x, y, dy, dx, p);
  const float *xp = cf(x), *yp = cf(y), *dyp = cf(dy);
  float* dxp = mf(dx);
  int64_t n = dy.numel();
  if (op == UnaryOp::Gelu) {
    return parallel_chunks(
        n, [&](int64_t b, int64_t e) { kc::gelu_backward(xp + b, dyp + b, dxp + b, e - b); });
  }
  with_unary(op, p, [&](auto f) { map_unary_backward(f, xp, yp, dyp, dxp, n); });
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& c) {
  if (!f32(c)) return CpuRefBackend::binary(op, a, b, c);
  const float *ap = cf(a), *bp = cf(b);
  float* cp = mf(c);
  int64_t n = c.numel();
  const Shape& cs = c.shape();
  int64_t nd = c.dim();
  Shape sa = broadcast_strides(a.shape(), cs), sb = broadcast_strides(b.shape(), cs);
  // Rows of the last dimension; each row has a unit or zero stride in a and b.
  int64_t inner = nd ? cs[nd - 1] : 1, rows = inner ? n / inner : 0;
  int64_t ia_s = nd ? sa[nd - 1] : 0, ib_s = nd ? sb[nd - 1] : 0;
  with_binary(op, [&](auto f) {
    if (a.numel() == n && b.numel() == n) return map_binary(f, ap, bp, cp, n);
#pragma omp parallel for if (n > kParallelGrain && nthreads() > 1)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t rem = r, oa = 0, ob = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {
        int64_t k = rem % cs[d];
        rem /= cs[d];
        oa += k * sa[d];
        ob += k * sb[d];
      }
      const float *ar = ap + oa, *br = bp + ob;
      float* cr = cp + r * inner;
      for (int64_t i = 0; i < inner; ++i) cr[i] = f(ar[i * ia_s], br[i * ib_s]);
    }
  });
}

void CpuBackend::reduce_sum(const Tensor& x, Tensor& y) {
  if (!f32(x)) return CpuRefBackend::reduce_sum(x, y);
  const Shape& xs = x.shape();
  const Shape& ys = y.shape();
  int64_t nd = x.dim(), n = x.numel(), m = y.numel();
  const float* xp = cf(x);
  float* yp = mf(y);
  if (nd == 0 || n == 0) {
    for (int64_t i = 0; i < m; ++i) yp[i] = n ? xp[i] : 0.f;
    return;
  }
  Shape yst = contiguous_strides(ys);
  int64_t inner = xs[nd - 1], rows = n / inner;
  bool inner_reduced = ys[nd - 1] == 1 && inner != 1;
  int T = (n > kParallelGrain) ? nthreads() : 1;
  std::vector<double> part(static_cast<size_t>(T) * m, 0.0);
#pragma omp parallel num_threads(T) if (T > 1)
  {
    double* acc = part.data() + static_cast<size_t>(omp_get_thread_num()) * m;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t rem = r, oy = 0;
      for (int64_t d = nd - 2; d >= 0; --d) {
        int64_t k = rem % xs[d];
        rem /= xs[d];
        if (ys[d] != 1) oy += k * yst[d];
      }
      const float* xr = xp + r * inner;
      if (inner_reduced) {
        float s = 0;
        for (int64_t i = 0; i < inner; ++i) s += xr[i];
        acc[oy] += s;
      } else {
        for (int64_t i = 0; i < inner; ++i) acc[oy + i] += xr[i];
      }
    }
  }
  for (int64_t i = 0; i < m; ++i) {
    double s = 0;
    for (int t = 0; t < T; ++t) s += part[static_cast<size_t>(t) * m + i];
    yp[i] = static_cast<float>(s);
  }
}

void CpuBackend::copy(const Tensor& src, Tensor& dst) {
  if (!f32(src) || !f32(dst)) return CpuRefBackend::copy(src, dst);
  LETHE_CHECK(src.shape() == dst.shape(), "copy: shape mismatch");
  const float* base = static_cast<const float*>(src.impl()->storage->data());
  float* out = mf(dst);
  const Shape& s = src.shape();
  const Shape& st = src.strides();
  int64_t nd = src.dim(), n = src.numel();
  if (nd == 0) {
    out[0] = base[src.offset()];
    return;
  }
  int64_t inner = s[nd - 1], rows = inner ? n / inner : 0, is = st[nd - 1];
#pragma omp parallel for if (n > kParallelGrain && nthreads() > 1)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, off = src.offset();
    for (int64_t d = nd - 2; d >= 0; --d) {
      off += (rem % s[d]) * st[d];
      rem /= s[d];
    }
    const float* in = base + off;
    float* o = out + r * inner;
    if (is == 1)
      std::memcpy(o, in, inner * sizeof(float));
    else
      for (int64_t i = 0; i < inner; ++i) o[i] = in[i * is];
  }
}

void CpuBackend::softmax_forward(const Tensor& x, Tensor& y, bool log) {
  if (!f32(x)) return CpuRefBackend::softmax_forward(x, y, log);
  int64_t R = x.size(0), C = x.size(1);
  const float* xp = cf(x);
  float* yp = mf(y);
#pragma omp parallel for if (x.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t r = 0; r < R; ++r) {
    const float* row = xp + r * C;
    float* o = yp + r * C;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < C; ++c) mx = std::max(mx, row[c]);
    const float s = kc::exp_shifted_sum(row, mx, o, C);
    if (log) {
      float ls = std::log(s);
      for (int64_t c = 0; c < C; ++c) o[c] = row[c] - mx - ls;
    } else {
      float inv = 1.f / s;
      for (int64_t c = 0; c < C; ++c) o[c] *= inv;
    }
  }
}

void CpuBackend::softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, bool log) {
  if (!f32(y)) return CpuRefBackend::softmax_backward(y, dy, dx, log);
  int64_t R = y.size(0), C = y.size(1);
  const float *yp = cf(y), *dyp = cf(dy);
  float* dxp = mf(dx);
#pragma omp parallel for if (y.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t r = 0; r < R; ++r) {
    const float *yr = yp + r * C, *g = dyp + r * C;
    float* o = dxp + r * C;
    float s = 0;
    for (int64_t c = 0; c < C; ++c) s += log ? g[c] : g[c] * yr[c];
    for (int64_t c = 0; c < C; ++c) o[c] = log ? g[c] - std::exp(yr[c]) * s : yr[c] * (g[c] - s);
  }
}

void CpuBackend::cross_entropy_forward(const Tensor& logits, const Tensor& target, Tensor& loss,
                                       double smoothing) {
  if (!f32(logits)) return CpuRefBackend::cross_entropy_forward(logits, target, loss, smoothing);
  int64_t N = logits.size(0), C = logits.size(1);
  const float* xp = cf(logits);
  const int64_t* tp = target.data<int64_t>();
  float* lp = mf(loss);
  float sm = static_cast<float>(smoothing);
#pragma omp parallel for if (logits.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t n = 0; n < N; ++n) {
    const float* row = xp + n * C;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < C; ++c) mx = std::max(mx, row[c]);
    float s = 0, all = 0;
    for (int64_t c = 0; c < C; ++c) {
      s += std::exp(row[c] - mx);
      all += row[c];
    }
    float lse = mx + std::log(s);
    lp[n] = -(1 - sm) * (row[tp[n]] - lse) - sm / C * (all - C * lse);
  }
}

void CpuBackend::cross_entropy_backward(const Tensor& logits, const Tensor& target,
                                        const Tensor& dloss, Tensor& dx, double smoothing) {
  if (!f32(logits))
    return CpuRefBackend::cross_entropy_backward(logits, target, dloss, dx, smoothing);
  int64_t N = logits.size(0), C = logits.size(1);
  const float *xp = cf(logits), *gp = cf(dloss);
  const int64_t* tp = target.data<int64_t>();
  float* dxp = mf(dx);
  float sm = static_cast<float>(smoothing);
#pragma omp parallel for if (logits.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t n = 0; n < N; ++n) {
    const float* row = xp + n * C;
    float* o = dxp + n * C;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < C; ++c) mx = std::max(mx, row[c]);
    float s = 0;
    for (int64_t c = 0; c < C; ++c) {
      o[c] = std::exp(row[c] - mx);
      s += o[c];
    }
    float inv = 1.f / s;
    for (int64_t c = 0; c < C; ++c) {
      float t = (c == tp[n] ? 1 - sm : 0.f) + sm / C;
      o[c] = gp[n] * (o[c] * inv - t);
    }
  }
}

void CpuBackend::max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& idx, const Pool2dArgs& a) {
  if (!f32(x)) return CpuRefBackend::max_pool2d_forward(x, y, idx, a);
  int64_t P = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), OH = y.size(2), OW = y.size(3);
  const float* xp = cf(x);
  float* yp = mf(y);
  int64_t* ip = idx.data<int64_t>();
#pragma omp parallel for if (x.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t bi = -1;
        int64_t h0 = oh * a.stride_h - a.pad_h, w0 = ow * a.stride_w - a.pad_w;
        for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h0 + a.kernel_h, H); ++ih)
          for (int64_t iw = std::max<int64_t>(w0, 0); iw < std::min(w0 + a.kernel_w, W); ++iw) {
            float v = xp[p * H * W + ih * W + iw];
            if (v > best || bi < 0 || std::isnan(v)) {
              best = v;
              bi = ih * W + iw;
            }
          }
        yp[(p * OH + oh) * OW + ow] = best;
        ip[(p * OH + oh) * OW + ow] = bi;
      }
}

void CpuBackend::max_pool2d_backward(const Tensor& dy, const Tensor& idx, Tensor& dx) {
  if (!f32(dy)) return CpuRefBackend::max_pool2d_backward(dy, idx, dx);
  int64_t P = dx.size(0) * dx.size(1), HW = dx.size(2) * dx.size(3), OHW = dy.size(2) * dy.size(3);
  const float* dyp = cf(dy);
  const int64_t* ip = idx.data<int64_t>();
  float* dxp = mf(dx);
#pragma omp parallel for if (dx.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t p = 0; p < P; ++p) {
    float* o = dxp + p * HW;
    std::memset(o, 0, HW * sizeof(float));
    for (int64_t k = 0; k < OHW; ++k) o[ip[p * OHW + k]] += dyp[p * OHW + k];
  }
}

void CpuBackend::avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dArgs& a) {
  if (!f32(x)) return CpuRefBackend::avg_pool2d_forward(x, y, a);
  int64_t P = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), OH = y.size(2), OW = y.size(3);
  const float* xp = cf(x);
  float* yp = mf(y);
#pragma omp parallel for if (x.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t h0 = oh * a.stride_h - a.pad_h, w0 = ow * a.stride_w - a.pad_w;
        int64_t h1 = std::min(h0 + a.kernel_h, H + a.pad_h),
                w1 = std::min(w0 + a.kernel_w, W + a.pad_w);
        float count = static_cast<float>((h1 - h0) * (w1 - w0));
        float s = 0;
        for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h1, H); ++ih)
          for (int64_t iw = std::max<int64_t>(w0, 0); iw < std::min(w1, W); ++iw)
            s += xp[p * H * W + ih * W + iw];
        yp[(p * OH + oh) * OW + ow] = s / count;
      }
}

void CpuBackend::avg_pool2d_backward(const Tensor& dy, Tensor& dx, const Pool2dArgs& a) {
  if (!f32(dy)) return CpuRefBackend::avg_pool2d_backward(dy, dx, a);
  int64_t P = dx.size(0) * dx.size(1), H = dx.size(2), W = dx.size(3), OH = dy.size(2),
          OW = dy.size(3);
  const float* dyp = cf(dy);
  float* dxp = mf(dx);
#pragma omp parallel for if (dx.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t p = 0; p < P; ++p) {
    float* o = dxp + p * H * W;
    std::memset(o, 0, H * W * sizeof(float));
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t h0 = oh * a.stride_h - a.pad_h, w0 = ow * a.stride_w - a.pad_w;
        int64_t h1 = std::min(h0 + a.kernel_h, H + a.pad_h),
                w1 = std::min(w0 + a.kernel_w, W + a.pad_w);
        float g = dyp[(p * OH + oh) * OW + ow] / static_cast<float>((h1 - h0) * (w1 - w0));
        for (int64_t ih = std::max<int64_t>(h0, 0); ih < std::min(h1, H); ++ih)
          for (int64_t iw = std::max<int64_t>(w0, 0); iw < std::min(w1, W); ++iw)
            o[ih * W + iw] += g;
      }
  }
}

void CpuBackend::adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) {
  if (!f32(x)) return CpuRefBackend::adaptive_avg_pool2d_forward(x, y);
  int64_t P = x.size(0) * x.size(1), H = x.size(2), W = x.size(3), OH = y.size(2), OW = y.size(3);
  const float* xp = cf(x);
  float* yp = mf(y);
#pragma omp parallel for if (x.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
        int64_t w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
        float s = 0;
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) s += xp[p * H * W + ih * W + iw];
        yp[(p * OH + oh) * OW + ow] = s / static_cast<float>((h1 - h0) * (w1 - w0));
      }
}

void CpuBackend::adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx) {
  if (!f32(dy)) return CpuRefBackend::adaptive_avg_pool2d_backward(dy, dx);
  int64_t P = dx.size(0) * dx.size(1), H = dx.size(2), W = dx.size(3), OH = dy.size(2),
          OW = dy.size(3);
  const float* dyp = cf(dy);
  float* dxp = mf(dx);
#pragma omp parallel for if (dx.numel() > kParallelGrain && nthreads() > 1)
  for (int64_t p = 0; p < P; ++p) {
    float* o = dxp + p * H * W;
    std::memset(o, 0, H * W * sizeof(float));
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        int64_t h0 = oh * H / OH, h1 = ((oh + 1) * H + OH - 1) / OH;
        int64_t w0 = ow * W / OW, w1 = ((ow + 1) * W + OW - 1) / OW;
        float g = dyp[(p * OH + oh) * OW + ow] / static_cast<float>((h1 - h0) * (w1 - w0));
        for (int64_t ih = h0; ih < h1; ++ih)
          for (int64_t iw = w0; iw < w1; ++iw) o[ih * W + iw] += g;
      }
  }
}

void CpuBackend::dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, double p,
                                 uint64_t seed) {
  if (!f32(x)) return CpuRefBackend::dropout_forward(x, y, mask, p, seed);
  const float* xp = cf(x);
  float* yp = mf(y);
  uint8_t* mp = mask.data<uint8_t>();
  int64_t n = x.numel();
  float scale = static_cast<float>(1.0 / (1.0 - p));
  float pf = static_cast<float>(p);
#pragma omp parallel for if (n > kParallelGrain && nthreads() > 1)
  for (int64_t i = 0; i < n; ++i) {
    mp[i] = rng::uniform_at(seed, static_cast<uint64_t>(i)) >= pf ? 1 : 0;
    yp[i] = mp[i] ? xp[i] * scale : 0.f;
  }
}

void CpuBackend::dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, double p) {
  if (!f32(dy)) return CpuRefBackend::dropout_backward(dy, mask, dx, p);
  const float* dyp = cf(dy);
  const uint8_t* mp = mask.data<uint8_t>();
  float* dxp = mf(dx);
  int64_t n = dy.numel();
  float scale = static_cast<float>(1.0 / (1.0 - p));
#pragma omp parallel for simd if (parallel : n > kParallelGrain && nthreads() > 1)
  for (int64_t i = 0; i < n; ++i) dxp[i] = mp[i] ? dyp[i] * scale : 0.f;
}

}  // namespace lethe
