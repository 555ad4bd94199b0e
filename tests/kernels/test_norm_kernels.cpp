// The normalization, softmax and pooling kernels of kernels/cuda (batchnorm.cu, layernorm.cu,
// softmax.cu, pool.cu) in the SIMT emulator against CpuRefBackend: shapes that are not multiples
// of 32, several block sizes, splits and row modes, under the in-order, reverse and random
// schedules; then the DeviceBackend entry points against CpuRefBackend on host tensors.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/cpu_ref/cpu_ref.h"
#include "engine/backend/cuda/device_backend.h"
#include "kernels/cuda/batchnorm.cuh"
#include "kernels/cuda/compat.h"
#include "kernels/cuda/layernorm.cuh"
#include "kernels/cuda/pool.cuh"
#include "kernels/cuda/softmax.cuh"
#include "tests/support/dev_array.h"

namespace lethe::kemu {
namespace {

// f32 kernels against the double-accumulating oracle (as tests/ops/test_backend_harness.cpp).
constexpr double kTol = 1e-4;

const ScheduleChoice kSchedules[] = {
    {Schedule::InOrder, 0}, {Schedule::Reverse, 0}, {Schedule::Random, 7}};

// (threads per block, splits) pairs: block sizes 32…1024 (96 and 160: warp counts that are not
// powers of two), one block per channel/column and several with the merge pass, auto (0).
struct Launch {
  int threads, splits;
};
const Launch kBnConfigs[] = {{32, 0}, {32, 3}, {96, 1}, {96, 3}, {256, 0}, {1024, 1}, {1024, 3}};
const Launch kLnConfigs[] = {{32, 0}, {32, 4}, {160, 1}, {160, 4}, {1024, 0}};
const Launch kLnWideConfigs[] = {{32, 4}, {160, 1}, {1024, 0}};  // D = 1100: fewer, big blocks

std::vector<float> randn(size_t n, uint64_t seed, float mean = 0.f, float stddev = 1.f) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> d(mean, stddev);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

// max |a − b| / max(max |b|, 1e-6); a non-finite value where b is finite is an infinite error.
double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = 1e-6;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) && std::isfinite(b[i])) return std::numeric_limits<double>::infinity();
    num = std::max(num, std::fabs(static_cast<double>(a[i]) - b[i]));
    den = std::max(den, std::fabs(static_cast<double>(b[i])));
  }
  return num / den;
}

Tensor tf(const Shape& s, const std::vector<float>& v) {
  return Tensor::from_vector(s, v);
}
Tensor ti(const Shape& s, const std::vector<int64_t>& v) {
  return Tensor::from_vector_i64(s, v);
}
int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("emu norm: batch norm forward (train, eval) and backward match cpu_ref") {
    CpuRefBackend ref;
    struct Case {
      Shape shape;
      float mean, stddev;
    };
    // S = 49 (flat elementwise pass below 64 threads... and above), S = 40, S = 1 (BN1d), and a
    // large-mean channel set where sum-of-squares variance would cancel.
    const Case cases[] = {{{3, 5, 7, 7}, 0.f, 1.f},
                          {{2, 3, 40}, 0.5f, 2.f},
                          {{37, 6}, -1.f, 1.f},
                          {{3, 5, 7, 7}, 1000.f, 0.5f}};
    const float eps = 1e-5f;
    int cfg = 0;
    for (const Case& cs : cases) {
      const int64_t N = cs.shape[0], C = cs.shape[1], S = numel(cs.shape) / (N * C);
      std::vector<float> x = randn(numel(cs.shape), 11 + cfg, cs.mean, cs.stddev);
      std::vector<float> dy = randn(x.size(), 12 + cfg), w = randn(C, 13, 1.f, 0.5f),
                         b = randn(C, 14);
      // Eval statistics: near the batch's, as running statistics would be.
      std::vector<float> rm = randn(C, 15, cs.mean, 0.1f), rv(C);
      for (int64_t c = 0; c < C; ++c) rv[c] = cs.stddev * cs.stddev * (1.f + 0.1f * (c % 3));
      DevArray<float> dx_(x), ddy(dy), dw(w), db(b), drm(rm), drv(rv);
      for (bool affine : {true, false}) {
        Tensor W = affine ? tf({C}, w) : Tensor(), B = affine ? tf({C}, b) : Tensor();
        Tensor y_r = Tensor::empty(cs.shape), m_r = Tensor::empty({C}), v_r = Tensor::empty({C});
        ref.batch_norm_forward_train(tf(cs.shape, x), W, B, y_r, m_r, v_r, eps);
        Tensor ye_r = Tensor::empty(cs.shape);
        ref.batch_norm_forward_eval(tf(cs.shape, x), W, B, tf({C}, rm), tf({C}, rv), ye_r, eps);
        Tensor gx_t = Tensor::empty(cs.shape), gw_t = Tensor::empty({C}), gb_t = Tensor::empty({C});
        ref.batch_norm_backward(tf(cs.shape, dy), tf(cs.shape, x), W, m_r, v_r, eps, true, gx_t,
                                gw_t, gb_t);
        Tensor gx_e = Tensor::empty(cs.shape), gw_e = Tensor::empty({C}), gb_e = Tensor::empty({C});
        ref.batch_norm_backward(tf(cs.shape, dy), tf(cs.shape, x), W, tf({C}, rm), tf({C}, rv), eps,
                                false, gx_e, gw_e, gb_e);
        DevArray<float> dm_r(m_r.to_vector()), dv_r(v_r.to_vector());
        const float* wp = affine ? dw.p : nullptr;
        const float* bp = affine ? db.p : nullptr;
        for (auto sched : kSchedules) {
          // Races do not depend on the affine terms: without them, the random schedule only.
          if (!affine && sched.kind != Schedule::Random) continue;
          ScheduleGuard g(sched);
          for (auto [threads, splits] : kBnConfigs) {
            {
              CAPTURE(cs.shape);
              CAPTURE(cs.mean);
              CAPTURE(affine);
              CAPTURE(schedule_name(sched));
              CAPTURE(threads);
              CAPTURE(splits);
              DevArray<float> ws(batchnorm_workspace_floats(N, C, S, threads, splits));
              DevArray<float> y(x.size()), m(C), v(C);
              batchnorm_forward_train(dx_.p, wp, bp, y.p, m.p, v.p, N, C, S, eps, ws.p, nullptr,
                                      threads, splits);
              CHECK(rel_err(m.get(), m_r.to_vector()) <= kTol);
              CHECK(rel_err(v.get(), v_r.to_vector()) <= kTol);
              CHECK(rel_err(y.get(), y_r.to_vector()) <= kTol);
              DevArray<float> ye(x.size());
              batchnorm_forward_eval(dx_.p, wp, bp, drm.p, drv.p, ye.p, N, C, S, eps, ws.p, nullptr,
                                     threads);
              CHECK(rel_err(ye.get(), ye_r.to_vector()) <= kTol);
              // Backward with the batch statistics (cpu_ref's, so both see the same inputs).
              DevArray<float> gx(x.size()), gw(C), gb(C);
              batchnorm_backward(ddy.p, dx_.p, wp, dm_r.p, dv_r.p, N, C, S, eps, true, gx.p, gw.p,
                                 gb.p, ws.p, nullptr, threads, splits);
              CHECK(rel_err(gx.get(), gx_t.to_vector()) <= kTol);
              CHECK(rel_err(gw.get(), gw_t.to_vector()) <= kTol);
              CHECK(rel_err(gb.get(), gb_t.to_vector()) <= kTol);
              // Eval statistics; dx alone (no reduction) and the parameter grads alone.
              DevArray<float> gx2(x.size()), gw2(C), gb2(C);
              batchnorm_backward(ddy.p, dx_.p, wp, drm.p, drv.p, N, C, S, eps, false, gx2.p,
                                 nullptr, nullptr, ws.p, nullptr, threads, splits);
              batchnorm_backward(ddy.p, dx_.p, wp, drm.p, drv.p, N, C, S, eps, false, nullptr,
                                 gw2.p, gb2.p, ws.p, nullptr, threads, splits);
              CHECK(rel_err(gx2.get(), gx_e.to_vector()) <= kTol);
              CHECK(rel_err(gw2.get(), gw_e.to_vector()) <= kTol);
              CHECK(rel_err(gb2.get(), gb_e.to_vector()) <= kTol);
            }
          }
        }
      }
      ++cfg;
    }
  }

  TEST_CASE("emu norm: batch norm statistics survive a large mean") {
    // mean 1e4, std 1e-1: E[x²] − E[x]² in float would lose every digit of the variance (the
    // square's rounding unit, 1e8 · 6e-8, is larger than the variance 1e-2).
    const int64_t N = 4, C = 3, S = 45;
    std::vector<float> x = randn(N * C * S, 5, 1e4f, 0.1f);
    CpuRefBackend ref;
    Tensor y_r = Tensor::empty({N, C, S}), m_r = Tensor::empty({C}), v_r = Tensor::empty({C});
    ref.batch_norm_forward_train(tf({N, C, S}, x), Tensor(), Tensor(), y_r, m_r, v_r, 1e-5);
    DevArray<float> dx_(x), y(x.size()), m(C), v(C);
    for (int splits : {1, 5}) {
      DevArray<float> ws(batchnorm_workspace_floats(N, C, S, 64, splits));
      batchnorm_forward_train(dx_.p, nullptr, nullptr, y.p, m.p, v.p, N, C, S, 1e-5f, ws.p, nullptr,
                              64, splits);
      CHECK(rel_err(v.get(), v_r.to_vector()) <= kTol);
      CHECK(rel_err(m.get(), m_r.to_vector()) <= 1e-7);  // within float rounding of 1e4
      // y: the float mean alone is off by up to half an ulp of 1e4 (5e-4), 5e-3 σ, of a y ~ 3.
      CHECK(rel_err(y.get(), y_r.to_vector()) <= 2e-3);
    }
  }

  TEST_CASE("emu norm: layer norm forward and backward match cpu_ref") {
    CpuRefBackend ref;
    struct Case {
      int64_t R, D;
      float mean;
    };
    const Case cases[] = {{13, 37, 0.f}, {3, 1100, 0.3f}, {9, 1, 0.f}, {13, 37, 500.f}};
    const float eps = 1e-6f;
    int seed = 0;
    for (const Case& cs : cases) {
      const int64_t R = cs.R, D = cs.D;
      std::vector<float> x = randn(R * D, 21 + seed, cs.mean), dy = randn(R * D, 22 + seed);
      std::vector<float> w = randn(D, 23, 1.f, 0.5f), b = randn(D, 24);
      ++seed;
      DevArray<float> dx_(x), ddy(dy), dw(w), db(b);
      for (bool affine : {true, false}) {
        Tensor W = affine ? tf({D}, w) : Tensor(), B = affine ? tf({D}, b) : Tensor();
        Tensor y_r = Tensor::empty({R, D}), m_r = Tensor::empty({R}), r_r = Tensor::empty({R});
        ref.layer_norm_forward(tf({R, D}, x), W, B, y_r, m_r, r_r, eps);
        Tensor gx_r = Tensor::empty({R, D}), gw_r = Tensor::empty({D}), gb_r = Tensor::empty({D});
        ref.layer_norm_backward(tf({R, D}, dy), tf({R, D}, x), W, m_r, r_r, gx_r, gw_r, gb_r);
        for (auto sched : kSchedules) {
          if (!affine && sched.kind != Schedule::Random) continue;  // as for batch norm
          ScheduleGuard g(sched);
          for (int mode : {kRowWarp, kRowBlock}) {
            const bool wide = D > 1024;
            const Launch* cfgs = wide ? kLnWideConfigs : kLnConfigs;
            const int ncfg = wide ? 3 : 5;
            for (int ci = 0; ci < ncfg; ++ci) {
              const auto [threads, splits] = cfgs[ci];
              // 1024-thread blocks: a narrow row per block only in warp mode, a wide one only in
              // block mode (each emulated 1024-thread launch is costly).
              if (threads == 1024 && (mode == kRowBlock) != wide) continue;
              {
                CAPTURE(R);
                CAPTURE(D);
                CAPTURE(cs.mean);
                CAPTURE(affine);
                CAPTURE(schedule_name(sched));
                CAPTURE(mode);
                CAPTURE(threads);
                CAPTURE(splits);
                DevArray<float> y(R * D), m(R), r(R);
                layernorm_forward(dx_.p, affine ? dw.p : nullptr, affine ? db.p : nullptr, y.p, m.p,
                                  r.p, R, D, eps, nullptr, threads, mode);
                CHECK(rel_err(y.get(), y_r.to_vector()) <= kTol);
                CHECK(rel_err(m.get(), m_r.to_vector()) <= kTol);
                CHECK(rel_err(r.get(), r_r.to_vector()) <= kTol);
                DevArray<float> ws(layernorm_workspace_floats(R, D, threads, splits));
                DevArray<float> gx(R * D), gw(D), gb(D);
                layernorm_backward(ddy.p, dx_.p, affine ? dw.p : nullptr, m.p, r.p, gx.p, gw.p,
                                   gb.p, R, D, ws.p, nullptr, threads, mode, splits);
                CHECK(rel_err(gx.get(), gx_r.to_vector()) <= kTol);
                CHECK(rel_err(gw.get(), gw_r.to_vector()) <= kTol);
                CHECK(rel_err(gb.get(), gb_r.to_vector()) <= kTol);
                // Each output alone.
                DevArray<float> gb2(D);
                layernorm_backward(ddy.p, dx_.p, nullptr, m.p, r.p, nullptr, nullptr, gb2.p, R, D,
                                   ws.p, nullptr, threads, mode, splits);
                CHECK(rel_err(gb2.get(), gb_r.to_vector()) <= kTol);
              }
            }
          }
        }
      }
    }
  }

  TEST_CASE("emu norm: softmax and log-softmax forward and backward match cpu_ref") {
    CpuRefBackend ref;
    struct Case {
      int64_t R, C;
    };
    const Case cases[] = {{13, 10}, {13, 1000}, {3, 1500}, {5, 1}};
    int seed = 0;
    for (const Case& cs : cases) {
      const int64_t R = cs.R, C = cs.C;
      std::vector<float> x = randn(R * C, 31 + seed, 2.f, 3.f), dy = randn(R * C, 32 + seed);
      ++seed;
      DevArray<float> dx_(x), ddy(dy);
      for (bool log : {false, true}) {
        Tensor y_r = Tensor::empty({R, C});
        ref.softmax_forward(tf({R, C}, x), y_r, log);
        Tensor g_r = Tensor::empty({R, C});
        ref.softmax_backward(y_r, tf({R, C}, dy), g_r, log);
        DevArray<float> yin(y_r.to_vector());
        for (auto sched : kSchedules) {
          ScheduleGuard g(sched);
          for (int mode : {kSmRowAuto, kSmRowWarp, kSmRowBlock}) {
            for (int threads : {32, 96, 1024}) {
              CAPTURE(R);
              CAPTURE(C);
              CAPTURE(log);
              CAPTURE(schedule_name(sched));
              CAPTURE(mode);
              CAPTURE(threads);
              DevArray<float> y(R * C), gx(R * C);
              softmax_forward(dx_.p, y.p, R, C, log, nullptr, threads, mode);
              CHECK(rel_err(y.get(), y_r.to_vector()) <= kTol);
              softmax_backward(yin.p, ddy.p, gx.p, R, C, log, nullptr, threads, mode);
              CHECK(rel_err(gx.get(), g_r.to_vector()) <= kTol);
            }
          }
        }
      }
    }
  }

  TEST_CASE("emu norm: cross-entropy with label smoothing matches cpu_ref") {
    CpuRefBackend ref;
    struct Case {
      int64_t N, C;
    };
    const Case cases[] = {{13, 10}, {7, 1000}, {3, 1500}};
    int seed = 0;
    for (const Case& cs : cases) {
      const int64_t N = cs.N, C = cs.C;
      std::vector<float> x = randn(N * C, 41 + seed, 0.f, 4.f), gl = randn(N, 42 + seed);
      std::vector<int64_t> t(N);
      for (int64_t n = 0; n < N; ++n) t[n] = n == 0 ? 0 : n == 1 ? C - 1 : (n * 7919) % C;
      ++seed;
      DevArray<float> dx_(x), dgl(gl);
      DevArray<int64_t> dt(t);
      for (double sm : {0.0, 0.1}) {
        Tensor l_r = Tensor::empty({N}), g_r = Tensor::empty({N, C});
        ref.cross_entropy_forward(tf({N, C}, x), ti({N}, t), l_r, sm);
        ref.cross_entropy_backward(tf({N, C}, x), ti({N}, t), tf({N}, gl), g_r, sm);
        for (auto sched : kSchedules) {
          ScheduleGuard g(sched);
          for (int mode : {kSmRowWarp, kSmRowBlock}) {
            for (int threads : {32, 256, 1024}) {
              CAPTURE(N);
              CAPTURE(C);
              CAPTURE(sm);
              CAPTURE(schedule_name(sched));
              CAPTURE(mode);
              CAPTURE(threads);
              DevArray<float> l(N), gx(N * C);
              cross_entropy_forward(dx_.p, dt.p, l.p, N, C, static_cast<float>(sm), nullptr,
                                    threads, mode);
              CHECK(rel_err(l.get(), l_r.to_vector()) <= kTol);
              cross_entropy_backward(dx_.p, dt.p, dgl.p, gx.p, N, C, static_cast<float>(sm),
                                     nullptr, threads, mode);
              CHECK(rel_err(gx.get(), g_r.to_vector()) <= kTol);
            }
          }
        }
      }
    }
  }

  TEST_CASE("emu norm: max, average and adaptive pooling match cpu_ref") {
    CpuRefBackend ref;
    const int64_t N = 3, C = 5;
    struct Case {
      int64_t H, W;
      Pool2dArgs a;
    };
    const Case cases[] = {{7, 7, {3, 3, 2, 2, 1, 1}},  // ResNet stem pool
                          {7, 7, {2, 2, 2, 2, 0, 0}},
                          {7, 6, {3, 2, 1, 2, 1, 1}},
                          {9, 5, {3, 3, 3, 1, 0, 1}},
                          {5, 8, {4, 3, 2, 3, 2, 1}}};
    int seed = 0;
    for (const Case& cs : cases) {
      const Pool2dArgs& a = cs.a;
      const int64_t OH = (cs.H + 2 * a.pad_h - a.kernel_h) / a.stride_h + 1;
      const int64_t OW = (cs.W + 2 * a.pad_w - a.kernel_w) / a.stride_w + 1;
      const Shape xs{N, C, cs.H, cs.W}, ys{N, C, OH, OW};
      std::vector<float> x = randn(numel(xs), 51 + seed), dy = randn(numel(ys), 52 + seed);
      ++seed;
      // Ties: a few duplicated values (the first in window order must win, as in cpu_ref).
      for (size_t i = 3; i < x.size(); i += 11) x[i] = x[i - 1];
      Tensor y_r = Tensor::empty(ys), i_r = Tensor::empty(ys, DType::I64);
      ref.max_pool2d_forward(tf(xs, x), y_r, i_r, a);
      Tensor gx_r = Tensor::empty(xs);
      ref.max_pool2d_backward(tf(ys, dy), i_r, gx_r);
      Tensor ya_r = Tensor::empty(ys), ga_r = Tensor::empty(xs);
      ref.avg_pool2d_forward(tf(xs, x), ya_r, a);
      ref.avg_pool2d_backward(tf(ys, dy), ga_r, a);
      DevArray<float> dx_(x), ddy(dy);
      for (auto sched : kSchedules) {
        ScheduleGuard g(sched);
        for (int threads : {32, 128, 1024}) {
          CAPTURE(cs.H);
          CAPTURE(cs.W);
          CAPTURE(a.kernel_h);
          CAPTURE(a.kernel_w);
          CAPTURE(a.stride_h);
          CAPTURE(a.stride_w);
          CAPTURE(a.pad_h);
          CAPTURE(a.pad_w);
          CAPTURE(schedule_name(sched));
          CAPTURE(threads);
          const int64_t P = N * C;
          DevArray<float> y(numel(ys)), gx(numel(xs)), ya(numel(ys)), ga(numel(xs));
          DevArray<int64_t> idx(numel(ys));
          max_pool2d_forward(dx_.p, y.p, idx.p, P, cs.H, cs.W, OH, OW, a.kernel_h, a.kernel_w,
                             a.stride_h, a.stride_w, a.pad_h, a.pad_w, nullptr, threads);
          CHECK(y.get() == y_r.to_vector());  // a max is exact
          CHECK(idx.get() == i_r.to_vector_i64());
          max_pool2d_backward(ddy.p, idx.p, gx.p, P, cs.H, cs.W, OH, OW, nullptr, threads);
          CHECK(rel_err(gx.get(), gx_r.to_vector()) <= kTol);
          avg_pool2d_forward(dx_.p, ya.p, P, cs.H, cs.W, OH, OW, a.kernel_h, a.kernel_w, a.stride_h,
                             a.stride_w, a.pad_h, a.pad_w, nullptr, threads);
          CHECK(rel_err(ya.get(), ya_r.to_vector()) <= kTol);
          avg_pool2d_backward(ddy.p, ga.p, P, cs.H, cs.W, OH, OW, a.kernel_h, a.kernel_w,
                              a.stride_h, a.stride_w, a.pad_h, a.pad_w, nullptr, threads);
          CHECK(rel_err(ga.get(), ga_r.to_vector()) <= kTol);
        }
      }
    }
    // Adaptive: shrinking (overlapping windows), to 1×1, growing, and mixed.
    struct ACase {
      int64_t H, W, OH, OW;
    };
    for (const ACase& cs : {ACase{7, 7, 3, 3}, ACase{7, 5, 1, 1}, ACase{5, 3, 7, 4},
                            ACase{7, 5, 2, 4}, ACase{6, 6, 6, 6}}) {
      const Shape xs{N, C, cs.H, cs.W}, ys{N, C, cs.OH, cs.OW};
      std::vector<float> x = randn(numel(xs), 61 + seed), dy = randn(numel(ys), 62 + seed);
      ++seed;
      Tensor y_r = Tensor::empty(ys), g_r = Tensor::empty(xs);
      ref.adaptive_avg_pool2d_forward(tf(xs, x), y_r);
      ref.adaptive_avg_pool2d_backward(tf(ys, dy), g_r);
      DevArray<float> dx_(x), ddy(dy);
      for (auto sched : kSchedules) {
        ScheduleGuard g(sched);
        for (int threads : {32, 128, 1024}) {
          CAPTURE(cs.H);
          CAPTURE(cs.W);
          CAPTURE(cs.OH);
          CAPTURE(cs.OW);
          CAPTURE(schedule_name(sched));
          CAPTURE(threads);
          DevArray<float> y(numel(ys)), gx(numel(xs));
          adaptive_avg_pool2d_forward(dx_.p, y.p, N * C, cs.H, cs.W, cs.OH, cs.OW, nullptr,
                                      threads);
          CHECK(rel_err(y.get(), y_r.to_vector()) <= kTol);
          adaptive_avg_pool2d_backward(ddy.p, gx.p, N * C, cs.H, cs.W, cs.OH, cs.OW, nullptr,
                                       threads);
          CHECK(rel_err(gx.get(), g_r.to_vector()) <= kTol);
        }
      }
    }
  }

  TEST_CASE("emu norm: launchers refuse block sizes that are not warps") {
    DevArray<float> x(64), y(64);
    CHECK_THROWS_AS(softmax_forward(x.p, y.p, 2, 32, false, nullptr, 48), std::invalid_argument);
    CHECK_THROWS_AS(
        layernorm_forward(x.p, nullptr, nullptr, y.p, y.p, y.p, 2, 32, 1e-5f, nullptr, 2048),
        std::invalid_argument);
  }

  TEST_CASE("emu norm: DeviceBackend norm, softmax and pool entry points match cpu_ref") {
    DeviceBackend be;
    CpuRefBackend ref;
    auto close = [](const Tensor& a, const Tensor& b) {
      REQUIRE(a.shape() == b.shape());
      return rel_err(a.to_vector(), b.to_vector()) <= kTol;
    };
    auto empty_like = [](const Tensor& t) { return Tensor::empty(t.shape(), t.dtype()); };
    for (DType dt : {DType::F32, DType::F64}) {  // f64 goes to cpu_ref inside the backend
      CAPTURE(dtype_name(dt));
      // Batch norm on [3,5,7,7] and [11,6].
      for (Shape xs : {Shape{3, 5, 7, 7}, Shape{11, 6}}) {
        const int64_t C = xs[1];
        Tensor x = Tensor::randn(xs, 1, dt), dy = Tensor::randn(xs, 2, dt);
        Tensor w = Tensor::randn({C}, 3, dt), b = Tensor::randn({C}, 4, dt);
        Tensor y1 = Tensor::empty(xs, dt), m1 = Tensor::empty({C}, dt), v1 = Tensor::empty({C}, dt);
        Tensor y2 = empty_like(y1), m2 = empty_like(m1), v2 = empty_like(v1);
        be.batch_norm_forward_train(x, w, b, y1, m1, v1, 1e-5);
        ref.batch_norm_forward_train(x, w, b, y2, m2, v2, 1e-5);
        CHECK(close(y1, y2));
        CHECK(close(m1, m2));
        CHECK(close(v1, v2));
        be.batch_norm_forward_eval(x, Tensor(), b, m2, v2, y1, 1e-5);
        ref.batch_norm_forward_eval(x, Tensor(), b, m2, v2, y2, 1e-5);
        CHECK(close(y1, y2));
        for (bool training : {true, false}) {
          Tensor gx1 = empty_like(x), gw1 = empty_like(w), gb1 = empty_like(b);
          Tensor gx2 = empty_like(x), gw2 = empty_like(w), gb2 = empty_like(b);
          be.batch_norm_backward(dy, x, w, m2, v2, 1e-5, training, gx1, gw1, gb1);
          ref.batch_norm_backward(dy, x, w, m2, v2, 1e-5, training, gx2, gw2, gb2);
          CHECK(close(gx1, gx2));
          CHECK(close(gw1, gw2));
          CHECK(close(gb1, gb2));
          Tensor none;
          be.batch_norm_backward(dy, x, w, m2, v2, 1e-5, training, gx1, none, none);
          CHECK(close(gx1, gx2));
        }
      }
      // Layer norm [13,37].
      {
        Tensor x = Tensor::randn({13, 37}, 5, dt), dy = Tensor::randn({13, 37}, 6, dt);
        Tensor w = Tensor::randn({37}, 7, dt), b = Tensor::randn({37}, 8, dt);
        Tensor y1 = empty_like(x), m1 = Tensor::empty({13}, dt), r1 = Tensor::empty({13}, dt);
        Tensor y2 = empty_like(x), m2 = empty_like(m1), r2 = empty_like(r1);
        be.layer_norm_forward(x, w, b, y1, m1, r1, 1e-6);
        ref.layer_norm_forward(x, w, b, y2, m2, r2, 1e-6);
        CHECK(close(y1, y2));
        CHECK(close(m1, m2));
        CHECK(close(r1, r2));
        Tensor gx1 = empty_like(x), gw1 = empty_like(w), gb1 = empty_like(b);
        Tensor gx2 = empty_like(x), gw2 = empty_like(w), gb2 = empty_like(b);
        be.layer_norm_backward(dy, x, w, m2, r2, gx1, gw1, gb1);
        ref.layer_norm_backward(dy, x, w, m2, r2, gx2, gw2, gb2);
        CHECK(close(gx1, gx2));
        CHECK(close(gw1, gw2));
        CHECK(close(gb1, gb2));
      }
      // Softmax [13,10] and [4,1100]; cross-entropy [13,10] with smoothing.
      for (Shape s : {Shape{13, 10}, Shape{4, 1100}}) {
        Tensor x = Tensor::randn(s, 9, dt), dy = Tensor::randn(s, 10, dt);
        for (bool log : {false, true}) {
          Tensor y1 = empty_like(x), y2 = empty_like(x), g1 = empty_like(x), g2 = empty_like(x);
          be.softmax_forward(x, y1, log);
          ref.softmax_forward(x, y2, log);
          CHECK(close(y1, y2));
          be.softmax_backward(y2, dy, g1, log);
          ref.softmax_backward(y2, dy, g2, log);
          CHECK(close(g1, g2));
        }
        std::vector<int64_t> t(s[0]);
        for (int64_t n = 0; n < s[0]; ++n) t[n] = (n * 3) % s[1];
        Tensor tg = ti({s[0]}, t), gl = Tensor::randn({s[0]}, 11, dt);
        Tensor l1 = Tensor::empty({s[0]}, dt), l2 = empty_like(l1);
        Tensor g1 = empty_like(x), g2 = empty_like(x);
        be.cross_entropy_forward(x, tg, l1, 0.1);
        ref.cross_entropy_forward(x, tg, l2, 0.1);
        CHECK(close(l1, l2));
        be.cross_entropy_backward(x, tg, gl, g1, 0.1);
        ref.cross_entropy_backward(x, tg, gl, g2, 0.1);
        CHECK(close(g1, g2));
      }
      // Pooling on [2,3,9,7].
      {
        const Shape xs{2, 3, 9, 7};
        Pool2dArgs a{3, 3, 2, 2, 1, 1};
        const Shape ys{2, 3, 5, 4};
        Tensor x = Tensor::randn(xs, 12, dt), dy = Tensor::randn(ys, 13, dt);
        Tensor y1 = Tensor::empty(ys, dt), y2 = empty_like(y1);
        Tensor i1 = Tensor::empty(ys, DType::I64), i2 = empty_like(i1);
        be.max_pool2d_forward(x, y1, i1, a);
        ref.max_pool2d_forward(x, y2, i2, a);
        CHECK(close(y1, y2));
        CHECK(i1.to_vector_i64() == i2.to_vector_i64());
        Tensor g1 = empty_like(x), g2 = empty_like(x);
        be.max_pool2d_backward(dy, i2, g1);
        ref.max_pool2d_backward(dy, i2, g2);
        CHECK(close(g1, g2));
        be.avg_pool2d_forward(x, y1, a);
        ref.avg_pool2d_forward(x, y2, a);
        CHECK(close(y1, y2));
        be.avg_pool2d_backward(dy, g1, a);
        ref.avg_pool2d_backward(dy, g2, a);
        CHECK(close(g1, g2));
        const Shape as{2, 3, 3, 2};
        Tensor ay1 = Tensor::empty(as, dt), ay2 = empty_like(ay1), ady = Tensor::randn(as, 14, dt);
        be.adaptive_avg_pool2d_forward(x, ay1);
        ref.adaptive_avg_pool2d_forward(x, ay2);
        CHECK(close(ay1, ay2));
        be.adaptive_avg_pool2d_backward(ady, g1);
        ref.adaptive_avg_pool2d_backward(ady, g2);
        CHECK(close(g1, g2));
      }
    }
    device_empty_cache();  // verifies every block's guard bytes
  }
}

}  // namespace lethe::kemu
