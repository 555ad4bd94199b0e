#include "engine/backend/cpu_ref/cpu_ref.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/backend/dispatch.h"
#include "kernels/common/philox.h"
#include "kernels/common/pool_window.h"
#include "kernels/common/softmax.h"

namespace lethe {
namespace {

// Calls f.template operator()<T>() with T = float or double according to the tensor's dtype.
template <class F>
void by_float_type(const Tensor& t, const char* what, F&& f) {
  if (t.dtype() == DType::F32)
    f(float{});
  else if (t.dtype() == DType::F64)
    f(double{});
  else
    LETHE_FAIL("cpu_ref ", what, ": unsupported dtype ", dtype_name(t.dtype()));
}

template <class T>
T* P(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Pooling/conv output index -> input window start.
struct Dims4 {
  int64_t n, c, h, w;
};
Dims4 dims4(const Tensor& t) {
  return {t.size(0), t.size(1), t.size(2), t.size(3)};
}

}  // namespace

void CpuRefBackend::bmm(const Tensor& a, const Tensor& b, Tensor& c, bool ta, bool tb,
                        bool accumulate) {
  by_float_type(c, "bmm", [&](auto tag) {
    using T = decltype(tag);
    int64_t B = c.size(0), M = c.size(1), N = c.size(2);
    int64_t K = ta ? a.size(1) : a.size(2);
    int64_t Bb = b.size(0);
    const T* A = P<T>(a);
    const T* Bp = P<T>(b);
    T* C = P<T>(c);
    for (int64_t bi = 0; bi < B; ++bi) {
      const T* Ab = A + bi * M * K;
      const T* Bbp = Bp + (Bb == 1 ? 0 : bi) * K * N;
      T* Cb = C + bi * M * N;
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double acc = accumulate ? static_cast<double>(Cb[i * N + j]) : 0.0;
          for (int64_t k = 0; k < K; ++k) {
            double av = ta ? Ab[k * M + i] : Ab[i * K + k];
            double bv = tb ? Bbp[j * K + k] : Bbp[k * N + j];
            acc += av * bv;
          }
          Cb[i * N + j] = static_cast<T>(acc);
        }
    }
  });
}

void CpuRefBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                                   const Conv2dArgs& a) {
  by_float_type(x, "conv2d", [&](auto tag) {
    using T = decltype(tag);
    Dims4 X = dims4(x), Y = dims4(y);
    int64_t KH = w.size(2), KW = w.size(3);
    const T *xp = P<T>(x), *wp = P<T>(w), *bp = P<T>(bias);
    T* yp = P<T>(y);
    for (int64_t n = 0; n < X.n; ++n)
      for (int64_t o = 0; o < Y.c; ++o)
        for (int64_t oh = 0; oh < Y.h; ++oh)
          for (int64_t ow = 0; ow < Y.w; ++ow) {
            double acc = bp ? static_cast<double>(bp[o]) : 0.0;
            for (int64_t c = 0; c < X.c; ++c)
              for (int64_t kh = 0; kh < KH; ++kh) {
                int64_t ih = oh * a.stride_h - a.pad_h + kh;
                if (ih < 0 || ih >= X.h) continue;
                for (int64_t kw = 0; kw < KW; ++kw) {
                  int64_t iw = ow * a.stride_w - a.pad_w + kw;
                  if (iw < 0 || iw >= X.w) continue;
                  acc += static_cast<double>(xp[((n * X.c + c) * X.h + ih) * X.w + iw]) *
                         wp[((o * X.c + c) * KH + kh) * KW + kw];
                }
              }
            yp[((n * Y.c + o) * Y.h + oh) * Y.w + ow] = static_cast<T>(acc);
          }
  });
}

void CpuRefBackend::conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx,
                                          const Conv2dArgs& a) {
  by_float_type(dy, "conv2d backward", [&](auto tag) {
    using T = decltype(tag);
    Dims4 X = dims4(dx), Y = dims4(dy);
    int64_t KH = w.size(2), KW = w.size(3);
    const T *dyp = P<T>(dy), *wp = P<T>(w);
    std::vector<double> acc(dx.numel(), 0.0);
    for (int64_t n = 0; n < X.n; ++n)
      for (int64_t o = 0; o < Y.c; ++o)
        for (int64_t oh = 0; oh < Y.h; ++oh)
          for (int64_t ow = 0; ow < Y.w; ++ow) {
            double g = dyp[((n * Y.c + o) * Y.h + oh) * Y.w + ow];
            for (int64_t c = 0; c < X.c; ++c)
              for (int64_t kh = 0; kh < KH; ++kh) {
                int64_t ih = oh * a.stride_h - a.pad_h + kh;
                if (ih < 0 || ih >= X.h) continue;
                for (int64_t kw = 0; kw < KW; ++kw) {
                  int64_t iw = ow * a.stride_w - a.pad_w + kw;
                  if (iw < 0 || iw >= X.w) continue;
                  acc[((n * X.c + c) * X.h + ih) * X.w + iw] +=
                      g * wp[((o * X.c + c) * KH + kh) * KW + kw];
                }
              }
          }
    T* dxp = P<T>(dx);
    for (size_t i = 0; i < acc.size(); ++i) dxp[i] = static_cast<T>(acc[i]);
  });
}

void CpuRefBackend::conv2d_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw,
                                           Tensor& db, const Conv2dArgs& a) {
  by_float_type(dy, "conv2d backward", [&](auto tag) {
    using T = decltype(tag);
    Dims4 X = dims4(x), Y = dims4(dy);
    int64_t KH = dw.size(2), KW = dw.size(3);
    const T *dyp = P<T>(dy), *xp = P<T>(x);
    T* dwp = P<T>(dw);
    for (int64_t o = 0; o < Y.c; ++o)
      for (int64_t c = 0; c < X.c; ++c)
        for (int64_t kh = 0; kh < KH; ++kh)
          for (int64_t kw = 0; kw < KW; ++kw) {
            double acc = 0;
            for (int64_t n = 0; n < X.n; ++n)
              for (int64_t oh = 0; oh < Y.h; ++oh) {
                int64_t ih = oh * a.stride_h - a.pad_h + kh;
                if (ih < 0 || ih >= X.h) continue;
                for (int64_t ow = 0; ow < Y.w; ++ow) {
                  int64_t iw = ow * a.stride_w - a.pad_w + kw;
                  if (iw < 0 || iw >= X.w) continue;
                  acc += static_cast<double>(dyp[((n * Y.c + o) * Y.h + oh) * Y.w + ow]) *
                         xp[((n * X.c + c) * X.h + ih) * X.w + iw];
                }
              }
            dwp[((o * X.c + c) * KH + kh) * KW + kw] = static_cast<T>(acc);
          }
    if (db.defined()) {
      T* dbp = P<T>(db);
      for (int64_t o = 0; o < Y.c; ++o) {
        double acc = 0;
        for (int64_t n = 0; n < Y.n; ++n)
          for (int64_t i = 0; i < Y.h * Y.w; ++i) acc += dyp[(n * Y.c + o) * Y.h * Y.w + i];
        dbp[o] = static_cast<T>(acc);
      }
    }
  });
}

void CpuRefBackend::batch_norm_forward_train(const Tensor& x, const Tensor& weight,
                                             const Tensor& bias, Tensor& y, Tensor& mean,
                                             Tensor& var, double eps) {
  by_float_type(x, "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    auto [N, C, S] = ncs(x);
    const T *xp = P<T>(x), *wp = P<T>(weight), *bp = P<T>(bias);
    T *yp = P<T>(y), *mp = P<T>(mean), *vp = P<T>(var);
    double m = static_cast<double>(N * S);
    for (int64_t c = 0; c < C; ++c) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < S; ++i) s += xp[(n * C + c) * S + i];
      double mu = s / m, v = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < S; ++i) {
          double d = xp[(n * C + c) * S + i] - mu;
          v += d * d;
        }
      v /= m;
      mp[c] = static_cast<T>(mu);
      vp[c] = static_cast<T>(v);
      double inv = 1.0 / std::sqrt(v + eps);
      double g = wp ? static_cast<double>(wp[c]) : 1.0, b = bp ? static_cast<double>(bp[c]) : 0.0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < S; ++i) {
          int64_t k = (n * C + c) * S + i;
          yp[k] = static_cast<T>((xp[k] - mu) * inv * g + b);
        }
    }
  });
}

void CpuRefBackend::batch_norm_forward_eval(const Tensor& x, const Tensor& weight,
                                            const Tensor& bias, const Tensor& mean,
                                            const Tensor& var, Tensor& y, double eps) {
  by_float_type(x, "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    auto [N, C, S] = ncs(x);
    const T *xp = P<T>(x), *wp = P<T>(weight), *bp = P<T>(bias), *mp = P<T>(mean), *vp = P<T>(var);
    T* yp = P<T>(y);
    for (int64_t c = 0; c < C; ++c) {
      double inv = 1.0 / std::sqrt(static_cast<double>(vp[c]) + eps);
      double g = wp ? static_cast<double>(wp[c]) : 1.0, b = bp ? static_cast<double>(bp[c]) : 0.0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < S; ++i) {
          int64_t k = (n * C + c) * S + i;
          yp[k] = static_cast<T>((xp[k] - static_cast<double>(mp[c])) * inv * g + b);
        }
    }
  });
}

void CpuRefBackend::batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                        const Tensor& mean, const Tensor& var, double eps,
                                        bool training, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  by_float_type(x, "batch_norm backward", [&](auto tag) {
    using T = decltype(tag);
    auto [N, C, S] = ncs(x);
    const T *xp = P<T>(x), *dyp = P<T>(dy), *wp = P<T>(weight), *mp = P<T>(mean), *vp = P<T>(var);
    T *dxp = P<T>(dx), *dwp = P<T>(dweight), *dbp = P<T>(dbias);
    double m = static_cast<double>(N * S);
    for (int64_t c = 0; c < C; ++c) {
      double mu = mp[c], inv = 1.0 / std::sqrt(static_cast<double>(vp[c]) + eps);
      // In training the forward centred on the exact batch mean; a float32 saved mean is off it
      // by up to half an ulp of |mean|, which is not small beside σ when |mean| ≫ σ.
      if (training && m > 0) {
        double off = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t i = 0; i < S; ++i) off += xp[(n * C + c) * S + i] - mu;
        mu += off / m;
      }
      double sdy = 0, sdyx = 0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < S; ++i) {
          int64_t k = (n * C + c) * S + i;
          sdy += dyp[k];
          sdyx += dyp[k] * (xp[k] - mu) * inv;
        }
      if (dwp) dwp[c] = static_cast<T>(sdyx);
      if (dbp) dbp[c] = static_cast<T>(sdy);
      if (!dxp) continue;
      double g = wp ? static_cast<double>(wp[c]) : 1.0;
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < S; ++i) {
          int64_t k = (n * C + c) * S + i;
          double v = dyp[k];
          if (training) v = v - sdy / m - (xp[k] - mu) * inv * sdyx / m;
          dxp[k] = static_cast<T>(v * g * inv);
        }
    }
  });
}

void CpuRefBackend::layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                       Tensor& y, Tensor& mean, Tensor& rstd, double eps) {
  by_float_type(x, "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    int64_t R = x.size(0), D = x.size(1);
    const T *xp = P<T>(x), *wp = P<T>(weight), *bp = P<T>(bias);
    T *yp = P<T>(y), *mp = P<T>(mean), *rp = P<T>(rstd);
    for (int64_t r = 0; r < R; ++r) {
      const T* row = xp + r * D;
      double s = 0, v = 0;
      for (int64_t d = 0; d < D; ++d) s += row[d];
      double mu = s / D;
      for (int64_t d = 0; d < D; ++d) v += (row[d] - mu) * (row[d] - mu);
      double inv = 1.0 / std::sqrt(v / D + eps);
      mp[r] = static_cast<T>(mu);
      rp[r] = static_cast<T>(inv);
      for (int64_t d = 0; d < D; ++d)
        yp[r * D + d] =
            static_cast<T>((row[d] - mu) * inv * (wp ? static_cast<double>(wp[d]) : 1.0) +
                           (bp ? static_cast<double>(bp[d]) : 0.0));
    }
  });
}

void CpuRefBackend::layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                        const Tensor& mean, const Tensor& rstd, Tensor& dx,
                                        Tensor& dweight, Tensor& dbias) {
  by_float_type(x, "layer_norm backward", [&](auto tag) {
    using T = decltype(tag);
    int64_t R = x.size(0), D = x.size(1);
    const T *xp = P<T>(x), *dyp = P<T>(dy), *wp = P<T>(weight), *mp = P<T>(mean), *rp = P<T>(rstd);
    T *dxp = P<T>(dx), *dwp = P<T>(dweight), *dbp = P<T>(dbias);
    std::vector<double> dw(D, 0.0), db(D, 0.0);
    for (int64_t r = 0; r < R; ++r) {
      double mu = mp[r], inv = rp[r], s1 = 0, s2 = 0, off = 0;
      // Centre on the forward's exact mean, not the saved (possibly float32) one.
      for (int64_t d = 0; d < D; ++d) off += xp[r * D + d] - mu;
      if (D > 0) mu += off / D;
      for (int64_t d = 0; d < D; ++d) {
        double xh = (xp[r * D + d] - mu) * inv;
        double g = dyp[r * D + d];
        dw[d] += g * xh;
        db[d] += g;
        double gw = g * (wp ? static_cast<double>(wp[d]) : 1.0);
        s1 += gw;
        s2 += gw * xh;
      }
      if (!dxp) continue;
      for (int64_t d = 0; d < D; ++d) {
        double xh = (xp[r * D + d] - mu) * inv;
        double gw = dyp[r * D + d] * (wp ? static_cast<double>(wp[d]) : 1.0);
        dxp[r * D + d] = static_cast<T>(inv * (gw - s1 / D - xh * s2 / D));
      }
    }
    for (int64_t d = 0; d < D; ++d) {
      if (dwp) dwp[d] = static_cast<T>(dw[d]);
      if (dbp) dbp[d] = static_cast<T>(db[d]);
    }
  });
}

void CpuRefBackend::unary(UnaryOp op, const Tensor& x, Tensor& y, const UnaryParams& p) {
  by_float_type(x, "unary", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = P<T>(x);
    T* yp = P<T>(y);
    int64_t n = x.numel();
    with_unary(op, p, [&](auto f) {
      for (int64_t i = 0; i < n; ++i) yp[i] = static_cast<T>(f.fwd(static_cast<double>(xp[i])));
    });
  });
}

void CpuRefBackend::unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                                   Tensor& dx, const UnaryParams& p) {
  by_float_type(dy, "unary backward", [&](auto tag) {
    using T = decltype(tag);
    const T *xp = P<T>(x), *yp = P<T>(y), *dyp = P<T>(dy);
    T* dxp = P<T>(dx);
    int64_t n = dy.numel();
    with_unary(op, p, [&](auto f) {
      for (int64_t i = 0; i < n; ++i) {
        double xv = xp ? static_cast<double>(xp[i]) : 0.0;
        double yv = yp ? static_cast<double>(yp[i]) : 0.0;
        dxp[i] = static_cast<T>(f.bwd(xv, yv, static_cast<double>(dyp[i])));
      }
    });
  });
}

void CpuRefBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& c) {
  by_float_type(c, "binary", [&](auto tag) {
    using T = decltype(tag);
    const Shape& cs = c.shape();
    Shape sa = broadcast_strides(a.shape(), cs), sb = broadcast_strides(b.shape(), cs);
    const T *ap = P<T>(a), *bp = P<T>(b);
    T* cp = P<T>(c);
    int64_t n = c.numel(), nd = static_cast<int64_t>(cs.size());
    with_binary(op, [&](auto f) {
      for (int64_t i = 0; i < n; ++i) {
        int64_t rem = i, ia = 0, ib = 0;
        for (int64_t d = nd - 1; d >= 0; --d) {
          int64_t k = rem % cs[d];
          rem /= cs[d];
          ia += k * sa[d];
          ib += k * sb[d];
        }
        cp[i] = static_cast<T>(f(static_cast<double>(ap[ia]), static_cast<double>(bp[ib])));
      }
    });
  });
}

void CpuRefBackend::reduce_sum(const Tensor& x, Tensor& y) {
  by_float_type(x, "sum", [&](auto tag) {
    using T = decltype(tag);
    const Shape& xs = x.shape();
    Shape ys = y.shape();
    Shape yst = contiguous_strides(ys);
    std::vector<double> acc(y.numel(), 0.0);
    const T* xp = P<T>(x);
    int64_t n = x.numel(), nd = x.dim();
    for (int64_t i = 0; i < n; ++i) {
      int64_t rem = i, iy = 0;
      for (int64_t d = nd - 1; d >= 0; --d) {
        int64_t k = rem % xs[d];
        rem /= xs[d];
        if (ys[d] != 1) iy += k * yst[d];
      }
      acc[iy] += xp[i];
    }
    T* yp = P<T>(y);
    for (size_t i = 0; i < acc.size(); ++i) yp[i] = static_cast<T>(acc[i]);
  });
}

void CpuRefBackend::copy(const Tensor& src, Tensor& dst) {
  LETHE_CHECK(src.dtype() == dst.dtype() && src.shape() == dst.shape(), "copy: mismatch");
  size_t es = dtype_size(src.dtype());
  const uint8_t* base = static_cast<const uint8_t*>(src.impl()->storage->data());
  uint8_t* out = static_cast<uint8_t*>(dst.raw());
  const Shape& s = src.shape();
  const Shape& st = src.strides();
  int64_t n = src.numel(), nd = src.dim();
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, off = src.offset();
    for (int64_t d = nd - 1; d >= 0; --d) {
      off += (rem % s[d]) * st[d];
      rem /= s[d];
    }
    std::memcpy(out + i * es, base + off * es, es);
  }
}

void CpuRefBackend::softmax_forward(const Tensor& x, Tensor& y, bool log) {
  by_float_type(x, "softmax", [&](auto tag) {
    using T = decltype(tag);
    int64_t R = x.size(0), C = x.size(1);
    const T* xp = P<T>(x);
    T* yp = P<T>(y);
    for (int64_t r = 0; r < R; ++r) {
      const T* row = xp + r * C;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < C; ++c) mx = std::max(mx, static_cast<double>(row[c]));
      double s = 0;
      for (int64_t c = 0; c < C; ++c) s += std::exp(row[c] - mx);
      double ls = std::log(s);
      for (int64_t c = 0; c < C; ++c)
        yp[r * C + c] = static_cast<T>(log ? row[c] - mx - ls : std::exp(row[c] - mx) / s);
    }
  });
}

void CpuRefBackend::softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, bool log) {
  by_float_type(y, "softmax backward", [&](auto tag) {
    using T = decltype(tag);
    int64_t R = y.size(0), C = y.size(1);
    const T *yp = P<T>(y), *dyp = P<T>(dy);
    T* dxp = P<T>(dx);
    for (int64_t r = 0; r < R; ++r) {
      double s = 0;
      for (int64_t c = 0; c < C; ++c)
        s += log ? static_cast<double>(dyp[r * C + c])
                 : static_cast<double>(dyp[r * C + c]) * yp[r * C + c];
      for (int64_t c = 0; c < C; ++c) {
        int64_t k = r * C + c;
        dxp[k] = static_cast<T>(log ? dyp[k] - std::exp(static_cast<double>(yp[k])) * s
                                    : yp[k] * (dyp[k] - s));
      }
    }
  });
}

namespace {
template <class T>
void log_softmax_row(const T* row, int64_t C, std::vector<double>& out) {
  double mx = -std::numeric_limits<double>::infinity();
  for (int64_t c = 0; c < C; ++c) mx = std::max(mx, static_cast<double>(row[c]));
  double s = 0;
  for (int64_t c = 0; c < C; ++c) s += std::exp(row[c] - mx);
  double ls = std::log(s) + mx;
  for (int64_t c = 0; c < C; ++c) out[c] = row[c] - ls;
}
}  // namespace

void CpuRefBackend::cross_entropy_forward(const Tensor& logits, const Tensor& target, Tensor& loss,
                                          double smoothing) {
  by_float_type(logits, "cross_entropy", [&](auto tag) {
    using T = decltype(tag);
    int64_t N = logits.size(0), C = logits.size(1);
    const T* xp = P<T>(logits);
    const int64_t* tp = target.data<int64_t>();
    T* lp = P<T>(loss);
    for (int64_t n = 0; n < N; ++n) {
      const T* row = xp + n * C;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t c = 0; c < C; ++c) mx = std::max(mx, static_cast<double>(row[c]));
      double s = 0, shifted = 0;
      for (int64_t c = 0; c < C; ++c) {
        s += std::exp(row[c] - mx);
        shifted += row[c] - mx;
      }
      lp[n] = static_cast<T>(kernels::ce_smoothed_loss(
          mx, std::log(s), shifted, static_cast<double>(row[tp[n]]), C, smoothing));
    }
  });
}

void CpuRefBackend::cross_entropy_backward(const Tensor& logits, const Tensor& target,
                                           const Tensor& dloss, Tensor& dx, double smoothing) {
  by_float_type(logits, "cross_entropy backward", [&](auto tag) {
    using T = decltype(tag);
    int64_t N = logits.size(0), C = logits.size(1);
    const T *xp = P<T>(logits), *gp = P<T>(dloss);
    const int64_t* tp = target.data<int64_t>();
    T* dxp = P<T>(dx);
    std::vector<double> lsm(C);
    for (int64_t n = 0; n < N; ++n) {
      log_softmax_row(xp + n * C, C, lsm);
      for (int64_t c = 0; c < C; ++c) {
        dxp[n * C + c] = static_cast<T>(kernels::ce_smoothed_grad(
            std::exp(lsm[c]), c == tp[n], C, smoothing, static_cast<double>(gp[n])));
      }
    }
  });
}

void CpuRefBackend::max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& idx,
                                       const Pool2dArgs& a) {
  by_float_type(x, "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    Dims4 X = dims4(x), Y = dims4(y);
    const T* xp = P<T>(x);
    T* yp = P<T>(y);
    int64_t* ip = idx.data<int64_t>();
    for (int64_t p = 0; p < X.n * X.c; ++p)
      for (int64_t oh = 0; oh < Y.h; ++oh)
        for (int64_t ow = 0; ow < Y.w; ++ow) {
          const kernels::PoolWindow w = kernels::max_pool_window(oh, ow, X.h, X.w, a);
          double best = -std::numeric_limits<double>::infinity();
          int64_t bi = -1;
          for (int64_t ih = w.h0; ih < w.h1; ++ih)
            for (int64_t iw = w.w0; iw < w.w1; ++iw) {
              double v = xp[p * X.h * X.w + ih * X.w + iw];
              if (v > best || bi < 0 || std::isnan(v)) {
                best = v;
                bi = ih * X.w + iw;
              }
            }
          yp[(p * Y.h + oh) * Y.w + ow] = static_cast<T>(best);
          ip[(p * Y.h + oh) * Y.w + ow] = bi;
        }
  });
}

void CpuRefBackend::max_pool2d_backward(const Tensor& dy, const Tensor& idx, Tensor& dx) {
  by_float_type(dy, "max_pool2d backward", [&](auto tag) {
    using T = decltype(tag);
    Dims4 X = dims4(dx), Y = dims4(dy);
    const T* dyp = P<T>(dy);
    const int64_t* ip = idx.data<int64_t>();
    std::vector<double> acc(dx.numel(), 0.0);
    for (int64_t p = 0; p < X.n * X.c; ++p)
      for (int64_t k = 0; k < Y.h * Y.w; ++k)
        acc[p * X.h * X.w + ip[p * Y.h * Y.w + k]] += dyp[p * Y.h * Y.w + k];
    T* dxp = P<T>(dx);
    for (size_t i = 0; i < acc.size(); ++i) dxp[i] = static_cast<T>(acc[i]);
  });
}

namespace {
// Average and adaptive-average pooling differ only in their windows (`window_of(oh, ow, X, Y)`).
template <class WindowOf>
void window_mean_forward(const Tensor& x, Tensor& y, const char* what, const WindowOf& window_of) {
  by_float_type(x, what, [&](auto tag) {
    using T = decltype(tag);
    Dims4 X = dims4(x), Y = dims4(y);
    const T* xp = P<T>(x);
    T* yp = P<T>(y);
    for (int64_t p = 0; p < X.n * X.c; ++p)
      for (int64_t oh = 0; oh < Y.h; ++oh)
        for (int64_t ow = 0; ow < Y.w; ++ow) {
          const kernels::PoolWindow w = window_of(oh, ow, X, Y);
          double s = 0;
          for (int64_t ih = w.h0; ih < w.h1; ++ih)
            for (int64_t iw = w.w0; iw < w.w1; ++iw) s += xp[p * X.h * X.w + ih * X.w + iw];
          yp[(p * Y.h + oh) * Y.w + ow] = static_cast<T>(s / w.count);
        }
  });
}

template <class WindowOf>
void window_mean_backward(const Tensor& dy, Tensor& dx, const char* what,
                          const WindowOf& window_of) {
  by_float_type(dy, what, [&](auto tag) {
    using T = decltype(tag);
    Dims4 X = dims4(dx), Y = dims4(dy);
    const T* dyp = P<T>(dy);
    std::vector<double> acc(dx.numel(), 0.0);
    for (int64_t p = 0; p < X.n * X.c; ++p)
      for (int64_t oh = 0; oh < Y.h; ++oh)
        for (int64_t ow = 0; ow < Y.w; ++ow) {
          const kernels::PoolWindow w = window_of(oh, ow, X, Y);
          double g = dyp[(p * Y.h + oh) * Y.w + ow] / static_cast<double>(w.count);
          for (int64_t ih = w.h0; ih < w.h1; ++ih)
            for (int64_t iw = w.w0; iw < w.w1; ++iw) acc[p * X.h * X.w + ih * X.w + iw] += g;
        }
    T* dxp = P<T>(dx);
    for (size_t i = 0; i < acc.size(); ++i) dxp[i] = static_cast<T>(acc[i]);
  });
}

auto avg_window(const Pool2dArgs& a) {
  return [&a](int64_t oh, int64_t ow, const Dims4& X, const Dims4&) {
    return kernels::avg_pool_window(oh, ow, X.h, X.w, a);
  };
}
kernels::PoolWindow adaptive_window(int64_t oh, int64_t ow, const Dims4& X, const Dims4& Y) {
  return kernels::adaptive_pool_window(oh, ow, X.h, X.w, Y.h, Y.w);
}
}  // namespace

void CpuRefBackend::avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dArgs& a) {
  window_mean_forward(x, y, "avg_pool2d", avg_window(a));
}

void CpuRefBackend::avg_pool2d_backward(const Tensor& dy, Tensor& dx, const Pool2dArgs& a) {
  window_mean_backward(dy, dx, "avg_pool2d backward", avg_window(a));
}

void CpuRefBackend::adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) {
  window_mean_forward(x, y, "adaptive_avg_pool2d", adaptive_window);
}

void CpuRefBackend::adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx) {
  window_mean_backward(dy, dx, "adaptive_avg_pool2d backward", adaptive_window);
}

void CpuRefBackend::dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, double p,
                                    uint64_t seed) {
  by_float_type(x, "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T* xp = P<T>(x);
    T* yp = P<T>(y);
    uint8_t* mp = mask.data<uint8_t>();
    double scale = 1.0 / (1.0 - p);
    for (int64_t i = 0; i < x.numel(); ++i) {
      mp[i] = rng::uniform_at(seed, static_cast<uint64_t>(i)) >= static_cast<float>(p) ? 1 : 0;
      yp[i] = static_cast<T>(mp[i] ? xp[i] * scale : 0.0);
    }
  });
}

void CpuRefBackend::dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, double p) {
  by_float_type(dy, "dropout backward", [&](auto tag) {
    using T = decltype(tag);
    const T* dyp = P<T>(dy);
    const uint8_t* mp = mask.data<uint8_t>();
    T* dxp = P<T>(dx);
    double scale = 1.0 / (1.0 - p);
    for (int64_t i = 0; i < dy.numel(); ++i) dxp[i] = static_cast<T>(mp[i] ? dyp[i] * scale : 0.0);
  });
}

void CpuRefBackend::select(const Tensor& mask, const Tensor& a, const Tensor& b, Tensor& out) {
  by_float_type(a, "select", [&](auto tag) {
    using T = decltype(tag);
    const uint8_t* mp = mask.data<uint8_t>();
    const T* ap = P<T>(a);
    const T* bp = P<T>(b);
    T* op = P<T>(out);
    for (int64_t i = 0; i < a.numel(); ++i) op[i] = mp[i] ? ap[i] : bp[i];
  });
}

}  // namespace lethe
