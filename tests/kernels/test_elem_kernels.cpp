// kernels/cuda/{elementwise,dropout,optim,metrics,attention}.cu in the SIMT emulator against
// cpu_ref, engine/optim and double-precision loops, at several launch configurations and all
// three thread schedules, on shapes that are not multiples of the block or tile sizes; then the
// DeviceBackend entry points of the elementwise family against CpuRefBackend.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/cpu_ref/cpu_ref.h"
#include "engine/backend/cuda/device_backend.h"
#include "engine/backend/dispatch.h"
#include "engine/optim/optimizer.h"
#include "kernels/cuda/attention.cuh"
#include "kernels/cuda/dropout.cuh"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/metrics.cuh"
#include "kernels/cuda/optim.cuh"
#include "kernels/cuda/select.cuh"
#include "tests/support/dev_array.h"
#include "tests/support/random_values.h"

namespace lethe::kemu {
namespace {

const ScheduleChoice kSchedules[] = {
    {Schedule::InOrder, 0}, {Schedule::Reverse, 0}, {Schedule::Random, 7}};

using testing::uniform;

// max |a − b| / max(max |b|, floor), as tests/support/run_op.h; NaN anywhere is a failure.
template <class A, class B>
double rel_err(const std::vector<A>& a, const std::vector<B>& b, double floor = 1e-6) {
  REQUIRE(a.size() == b.size());
  double num = 0, den = floor;
  for (size_t i = 0; i < a.size(); ++i) {
    double x = static_cast<double>(a[i]), y = static_cast<double>(b[i]);
    if (std::isnan(x) != std::isnan(y)) return std::numeric_limits<double>::infinity();
    if (std::isnan(x)) continue;
    num = std::max(num, std::fabs(x - y));
    den = std::max(den, std::fabs(y));
  }
  return num / den;
}

Tensor tensor_of(const Shape& s, const std::vector<float>& v) {
  return Tensor::from_vector(s, v);
}

struct UnaryCase {
  UnaryOp op;
  UnaryParams p;
  float lo, hi;  // input domain
  const char* name;
};
const UnaryCase kUnary[] = {
    {UnaryOp::Relu, {}, -2, 2, "relu"},
    {UnaryOp::Gelu, {}, -3, 3, "gelu"},
    {UnaryOp::Abs, {}, -2, 2, "abs"},
    {UnaryOp::Sign, {}, -2, 2, "sign"},
    {UnaryOp::Sqrt, {}, 0.2f, 3, "sqrt"},
    {UnaryOp::Exp, {}, -3, 3, "exp"},
    {UnaryOp::Log, {}, 0.2f, 3, "log"},
    {UnaryOp::Neg, {}, -2, 2, "neg"},
    {UnaryOp::Square, {}, -2, 2, "square"},
    {UnaryOp::Pow, {2.5, 0}, 0.2f, 2, "pow"},
    {UnaryOp::Clamp, {-0.5, 0.7}, -2, 2, "clamp"},
    {UnaryOp::Scale, {1.7, 0}, -2, 2, "scale"},
    {UnaryOp::AddScalar, {0.3, 0}, -2, 2, "add_scalar"},
    {UnaryOp::Sigmoid, {}, -4, 4, "sigmoid"},
    {UnaryOp::Tanh, {}, -3, 3, "tanh"},
    {UnaryOp::Reciprocal, {}, 0.3f, 3, "reciprocal"},
};

Shape broadcast_shape(const Shape& a, const Shape& b) {
  Shape c(std::max(a.size(), b.size()), 1);
  for (size_t i = 0; i < c.size(); ++i) {
    int64_t da = i < c.size() - a.size() ? 1 : a[i - (c.size() - a.size())];
    int64_t db = i < c.size() - b.size() ? 1 : b[i - (c.size() - b.size())];
    c[i] = da == 1 ? db : da;
  }
  return c;
}

template <class T>
std::vector<T> bytes_as(const Tensor& t) {
  std::vector<T> v(t.nbytes() / sizeof(T));
  std::memcpy(v.data(), t.raw(), t.nbytes());
  return v;
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("emu elem: unary forward and backward of every op match cpu_ref") {
    CpuRefBackend ref;
    for (const UnaryCase& uc : kUnary) {
      CAPTURE(std::string(uc.name));
      for (int64_t n : {int64_t{37}, int64_t{1003}}) {
        std::vector<float> x = uniform(n, uc.lo, uc.hi, 11 + static_cast<uint32_t>(n));
        if (uc.lo < 0) x[3] = 0.f;                 // the kink of relu/abs/sign
        if (uc.op == UnaryOp::Clamp) x[5] = 0.7f;  // clamp's bound is inside the pass band
        std::vector<float> dy = uniform(n, -1, 1, 5);
        Tensor tx = tensor_of({n}, x), ty = Tensor::empty({n}), tdy = tensor_of({n}, dy);
        Tensor tdx = Tensor::empty({n});
        ref.unary(uc.op, tx, ty, uc.p);
        ref.unary_backward(uc.op, tx, ty, tdy, tdx, uc.p);
        std::vector<float> want_y = ty.to_vector(), want_dx = tdx.to_vector();
        for (size_t shift : {size_t{0}, size_t{1}}) {  // float4 path, scalar path
          DevArray<float> dxin(x, shift), dyv(want_y, shift), ddy(dy, shift);
          DevArray<float> out(n, shift), grad(n, shift);
          for (auto sched : kSchedules) {
            ScheduleGuard g(sched);
            for (int threads : {32, 256}) {
              CAPTURE(n);
              CAPTURE(shift);
              CAPTURE(threads);
              out.poison();
              grad.poison();
              elem_unary_f32(uc.op, uc.p, dxin.p, out.p, n, threads);
              elem_unary_backward_f32(uc.op, uc.p, dxin.p, dyv.p, ddy.p, grad.p, n, threads);
              CHECK(rel_err(out.get(), want_y) <= 1e-6);
              CHECK(rel_err(grad.get(), want_dx) <= 1e-5);
            }
          }
        }
      }
    }
  }

  TEST_CASE("emu elem: unary backward reads absent x or y as zero, as cpu_ref") {
    CpuRefBackend ref;
    const int64_t n = 45;
    std::vector<float> x = uniform(n, -2, 2, 3), dy = uniform(n, -1, 1, 4);
    Tensor tx = tensor_of({n}, x), ty = Tensor::empty({n}), tdy = tensor_of({n}, dy);
    ref.unary(UnaryOp::Tanh, tx, ty, {});
    Tensor tdx = Tensor::empty({n});
    ref.unary_backward(UnaryOp::Tanh, Tensor(), ty, tdy, tdx, {});
    DevArray<float> dyv(ty.to_vector()), ddy(dy), grad(n);
    for (auto sched : kSchedules) {
      ScheduleGuard g(sched);
      grad.poison();
      elem_unary_backward_f32(UnaryOp::Tanh, {}, nullptr, dyv.p, ddy.p, grad.p, n, 64);
      CHECK(rel_err(grad.get(), tdx.to_vector()) <= 1e-6);
    }
  }

  TEST_CASE("emu elem: broadcasting binary ops match cpu_ref") {
    CpuRefBackend ref;
    struct Pattern {
      Shape a, b;
    };
    const Pattern pats[] = {
        {{5, 7, 3}, {5, 7, 3}},              // same shape (flat fast path)
        {{5, 7, 3}, {7, 3}},                 // missing leading dim
        {{5, 1, 3}, {1, 7, 1}},              // size-1 dims on both sides
        {{6, 11}, {}},                       // scalar (rank 0)
        {{1}, {4, 9}},                       // scalar-like on the left
        {{4, 1}, {13}},                      // outer product
        {{2, 3, 1, 4, 5}, {1, 3, 6, 1, 5}},  // rank 5, interleaved
        {{37}, {37}},
    };
    const BinaryOp ops[] = {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul,
                            BinaryOp::Div, BinaryOp::Max, BinaryOp::Min};
    for (const Pattern& pt : pats) {
      Shape cs = broadcast_shape(pt.a, pt.b);
      CAPTURE(shape_str(pt.a));
      CAPTURE(shape_str(pt.b));
      std::vector<float> av = uniform(shape_numel(pt.a), -2, 2, 21);
      std::vector<float> bv = uniform(shape_numel(pt.b), 0.5f, 2, 22);  // Div: away from 0
      if (av.size() > 2 && bv.size() > 2) av[1] = bv[1];                // a tie for max/min
      Tensor ta = tensor_of(pt.a, av), tb = tensor_of(pt.b, bv), tc = Tensor::empty(cs);
      Shape sa = broadcast_strides(pt.a, cs), sb = broadcast_strides(pt.b, cs);
      const int64_t n = shape_numel(cs);
      for (size_t shift : {size_t{0}, size_t{1}}) {
        DevArray<float> da(av, shift), db(bv, shift), dc(n, shift);
        for (BinaryOp op : ops) {
          CAPTURE(static_cast<int>(op));
          ref.binary(op, ta, tb, tc);
          std::vector<float> want = tc.to_vector();
          for (auto sched : kSchedules) {
            ScheduleGuard g(sched);
            for (int threads : {32, 256}) {
              dc.poison();
              elem_binary_f32(op, da.p, db.p, dc.p, cs.data(), sa.data(), sb.data(),
                              static_cast<int>(cs.size()), threads);
              CHECK(rel_err(dc.get(), want) <= 1e-6);
            }
          }
        }
      }
    }
  }

  TEST_CASE("emu elem: reduce_sum over inner, outer, middle and all dims matches cpu_ref") {
    CpuRefBackend ref;
    struct Case {
      Shape x, y;
      std::vector<int> threads;
    };
    const Case cases[] = {
        {{37, 45}, {37, 1}, {32, 96, 256}},      // inner (rows kernel)
        {{37, 45}, {1, 45}, {32, 96, 256}},      // outer (columns kernel)
        {{37, 45}, {1, 1}, {32, 256}},           // all
        {{5, 6, 7}, {5, 1, 7}, {32, 128}},       // middle
        {{5, 6, 7}, {1, 6, 1}, {32, 128}},       // outer and inner
        {{5, 6, 7}, {5, 6, 1}, {64, 1024}},      // inner, short rows
        {{3, 1, 4}, {1, 1, 4}, {32}},            // size-1 dims
        {{4, 3}, {4, 3}, {32}},                  // nothing reduced
        {{3001}, {1}, {64}},                     // split over blocks + second pass
        {{3, 1100}, {3, 1}, {64}},               // split rows
        {{1100, 3}, {1, 3}, {64, 96}},           // split columns
        {{2, 3, 4, 5}, {2, 1, 4, 1}, {32, 64}},  // alternating
    };
    for (const Case& c : cases) {
      CAPTURE(shape_str(c.x));
      CAPTURE(shape_str(c.y));
      std::vector<float> xv = uniform(shape_numel(c.x), -1, 1, 31);
      Tensor tx = tensor_of(c.x, xv), ty = Tensor::empty(c.y);
      ref.reduce_sum(tx, ty);
      std::vector<float> want = ty.to_vector();
      DevArray<float> dx(xv), dy(want.size());
      for (auto sched : kSchedules) {
        ScheduleGuard g(sched);
        for (int threads : c.threads)
          for (int splits : {1, 64}) {
            CAPTURE(threads);
            CAPTURE(splits);
            dy.poison();
            elem_reduce_sum_f32(dx.p, dy.p, c.x.data(), c.y.data(), static_cast<int>(c.x.size()),
                                threads, splits);
            CHECK(rel_err(dy.get(), want) <= 2e-6);
          }
      }
    }
  }

  TEST_CASE("emu elem: strided copy of permuted, sliced and transposed views, every dtype") {
    CpuRefBackend ref;
    struct View {
      Shape base, shape, strides;
      int64_t offset;
      const char* name;
    };
    const View views[] = {
        {{3, 4, 5}, {5, 3, 4}, {1, 20, 5}, 0, "permute(2,0,1)"},
        {{7, 9}, {9, 7}, {1, 9}, 0, "transpose"},
        {{7, 9}, {3, 4}, {18, 2}, 10, "slice with steps"},
        {{6, 10}, {6, 4}, {10, 1}, 3, "column slice"},
        {{2, 3, 4, 5}, {5, 2, 4, 3}, {1, 60, 5, 20}, 0, "rank-4 permute"},
        {{40}, {40}, {1}, 0, "contiguous"},
        {{10}, {3, 5}, {0, 2}, 0, "expanded (stride 0)"},
        {{40, 37}, {37, 40}, {1, 37}, 0, "tiled transpose"},
        {{3, 35, 33}, {3, 33, 35}, {1155, 1, 33}, 0, "batched tiled transpose"},
        {{20, 3, 45}, {45, 3, 20}, {1, 45, 135}, 0, "tiled permute, batch in the middle"},
        {{50, 41}, {39, 9}, {1, 41 * 5}, 2, "tiled transpose of a strided slice"},
    };
    for (const View& v : views) {
      CAPTURE(std::string(v.name));
      const int64_t nb = shape_numel(v.base), n = shape_numel(v.shape);
      for (DType dt : {DType::F32, DType::F64, DType::I64, DType::U8}) {
        CAPTURE(std::string(dtype_name(dt)));
        Tensor base = Tensor::empty(v.base, dt);
        auto* bytes = static_cast<uint8_t*>(base.raw());
        for (size_t i = 0; i < base.nbytes(); ++i) bytes[i] = static_cast<uint8_t>(i * 37 + 11);
        Tensor view = make_view(base, v.shape, v.strides, v.offset);
        Tensor want = Tensor::empty(v.shape, dt);
        ref.copy(view, want);
        const size_t es = dtype_size(dt);
        std::vector<uint8_t> storage(bytes, bytes + nb * es);
        DevArray<uint8_t> src(storage), dst(static_cast<size_t>(n) * es);
        for (auto sched : kSchedules) {
          ScheduleGuard g(sched);
          for (int threads : {32, 256, 1024}) {
            dst.poison();
            elem_copy_strided(src.p, dst.p, static_cast<int>(es), v.shape.data(), v.strides.data(),
                              static_cast<int>(v.shape.size()), v.offset, threads);
            CHECK(dst.get() == bytes_as<uint8_t>(want));
          }
        }
      }
    }
  }

  TEST_CASE("emu elem: dropout draws cpu_ref's mask exactly; forward and backward values") {
    CpuRefBackend ref;
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{133}, int64_t{1001}})
      for (double p : {0.3, 0.9}) {
        const uint64_t seed = 0x1234abcdULL + static_cast<uint64_t>(n);
        std::vector<float> x = uniform(n, -2, 2, 41), gy = uniform(n, -1, 1, 42);
        Tensor tx = tensor_of({n}, x), ty = Tensor::empty({n});
        Tensor tm = Tensor::empty({n}, DType::U8);
        ref.dropout_forward(tx, ty, tm, p, seed);
        Tensor tdx = Tensor::empty({n});
        ref.dropout_backward(tensor_of({n}, gy), tm, tdx, p);
        std::vector<uint8_t> want_mask = bytes_as<uint8_t>(tm);
        for (size_t shift : {size_t{0}, size_t{1}}) {
          DevArray<float> dx(x, shift), dy(n, shift), dgy(gy, shift), dgx(n, shift);
          DevArray<uint8_t> dm(n, shift);
          for (auto sched : kSchedules) {
            ScheduleGuard g(sched);
            for (int threads : {32, 256}) {
              CAPTURE(n);
              CAPTURE(p);
              CAPTURE(shift);
              CAPTURE(threads);
              dy.poison();
              dm.poison();
              dgx.poison();
              dropout_forward_f32(dx.p, dy.p, dm.p, n, p, seed, threads);
              CHECK(dm.get() == want_mask);
              CHECK(rel_err(dy.get(), ty.to_vector()) <= 1e-6);
              dropout_backward_f32(dgy.p, dm.p, dgx.p, n, p, threads);
              CHECK(rel_err(dgx.get(), tdx.to_vector()) <= 1e-6);
            }
          }
        }
      }
  }

  TEST_CASE("emu elem: select copies a or b bit for bit, in place too, at every launch shape") {
    CpuRefBackend ref;
    for (int64_t n : {int64_t{1}, int64_t{7}, int64_t{133}, int64_t{1001}, int64_t{4099}}) {
      std::vector<float> a = uniform(n, -2, 2, 51), b = uniform(n, -2, 2, 52);
      a[0] = -0.f;  // signs of zero must survive: a select does no arithmetic
      std::vector<uint8_t> m(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) m[i] = (i * 5 + i / 7) % 3 != 0;
      Tensor tm = Tensor::empty({n}, DType::U8);
      std::copy(m.begin(), m.end(), tm.data<uint8_t>());
      Tensor want = Tensor::empty({n});
      ref.select(tm, tensor_of({n}, a), tensor_of({n}, b), want);
      const std::vector<uint8_t> want_bytes = bytes_as<uint8_t>(want);
      for (size_t shift : {size_t{0}, size_t{1}}) {
        DevArray<float> da(a, shift), db(b, shift), dout(n, shift);
        DevArray<uint8_t> dm(m, shift);
        for (auto sched : kSchedules) {
          ScheduleGuard g(sched);
          for (int threads : {32, 256, 1024}) {
            CAPTURE(n);
            CAPTURE(shift);
            CAPTURE(threads);
            dout.poison();
            select_f32(dm.p, da.p, db.p, dout.p, n, threads);
            std::vector<float> got = dout.get();
            CHECK(std::memcmp(got.data(), want_bytes.data(), want_bytes.size()) == 0);
            DevArray<float> inplace(a, shift);  // out aliases a
            select_f32(dm.p, inplace.p, db.p, inplace.p, n, threads);
            got = inplace.get();
            CHECK(std::memcmp(got.data(), want_bytes.data(), want_bytes.size()) == 0);
          }
        }
      }
    }
  }

  // The fused SGD/Adam/AdamW steps: tests/kernels/test_cpu_emu_bitwise.cpp (bit for bit).

  TEST_CASE("emu elem: row argmax, max-softmax confidence and entropy match a double loop") {
    for (int64_t C : {int64_t{1}, int64_t{10}, int64_t{45}, int64_t{100}}) {
      const int64_t N = 37;
      std::vector<float> z = uniform(N * C, -6, 6, 61 + static_cast<uint32_t>(C));
      if (C > 5) {
        z[2 * C + 4] = z[2 * C + 1] = 30.f;  // a tie: the first maximum wins
        z[3 * C + C - 1] = 80.f;             // a confident row, max in the last column
        for (int64_t c = 0; c < C; ++c) z[5 * C + c] = 1.5f;  // a uniform row
      }
      std::vector<int64_t> want_arg(N);
      std::vector<double> want_conf(N), want_ent(N);
      for (int64_t r = 0; r < N; ++r) {
        const float* row = z.data() + r * C;
        int64_t best = 0;
        for (int64_t c = 1; c < C; ++c)
          if (row[c] > row[best]) best = c;
        double s = 0, ent = 0;
        for (int64_t c = 0; c < C; ++c) s += std::exp(static_cast<double>(row[c]) - row[best]);
        for (int64_t c = 0; c < C; ++c) {
          double lp = static_cast<double>(row[c]) - row[best] - std::log(s);
          ent -= std::exp(lp) * lp;
        }
        want_arg[r] = best;
        want_conf[r] = 1.0 / s;
        want_ent[r] = ent;
      }
      if (C > 5) CHECK(want_arg[2] == 1);
      DevArray<float> dz(z), dconf(N), dent(N);
      DevArray<int64_t> darg(N);
      for (auto sched : kSchedules) {
        ScheduleGuard g(sched);
        for (int threads : {32, 64, 256}) {
          CAPTURE(C);
          CAPTURE(threads);
          dconf.poison();
          dent.poison();
          darg.poison();
          row_metrics_f32(dz.p, N, C, darg.p, dconf.p, dent.p, threads);
          CHECK(darg.get() == want_arg);
          CHECK(rel_err(dconf.get(), want_conf) <= 1e-6);
          std::vector<float> ent = dent.get();
          for (int64_t r = 0; r < N; ++r) CHECK(std::fabs(ent[r] - want_ent[r]) <= 2e-6);
        }
      }
      // Outputs are optional.
      row_metrics_f32(dz.p, N, C, nullptr, nullptr, dent.p, 32);
    }
  }

  TEST_CASE("emu elem: per-sample L2 normalization matches a double loop") {
    for (int64_t D : {int64_t{1}, int64_t{33}, int64_t{300}})
      for (bool additive : {true, false}) {
        const int64_t N = 7;
        const double eps = additive ? 1e-12 : 1e-3;
        std::vector<float> x = uniform(N * D, -2, 2, 71);
        for (int64_t d = 0; d < D; ++d) x[4 * D + d] = 0.f;  // a zero row stays zero
        x[6 * D] = 1e-5f;                                    // a tiny row (max mode clamps)
        for (int64_t d = 1; d < D; ++d) x[6 * D + d] = 0.f;
        std::vector<double> want(N * D), want_n(N);
        for (int64_t r = 0; r < N; ++r) {
          double s = 0;
          for (int64_t d = 0; d < D; ++d) s += static_cast<double>(x[r * D + d]) * x[r * D + d];
          want_n[r] = std::sqrt(s);
          const double den = additive ? want_n[r] + eps : std::max(want_n[r], eps);
          for (int64_t d = 0; d < D; ++d) want[r * D + d] = x[r * D + d] / den;
        }
        DevArray<float> dx(x), dy(N * D), dn(N);
        for (auto sched : kSchedules) {
          ScheduleGuard g(sched);
          for (int threads : {32, 96, 256}) {
            CAPTURE(D);
            CAPTURE(additive);
            CAPTURE(threads);
            dy.poison();
            dn.poison();
            l2_normalize_rows_f32(dx.p, dy.p, dn.p, N, D, eps, additive, threads);
            CHECK(rel_err(dy.get(), want) <= 2e-6);
            CHECK(rel_err(dn.get(), want_n) <= 2e-6);
          }
        }
      }
  }

  TEST_CASE("emu elem: fused attention forward matches a double-precision composite") {
    for (int64_t T : {int64_t{1}, int64_t{17}, int64_t{33}})
      for (int d : {8, 24, 64}) {
        const int64_t BH = 3;
        const float scale = 1.0f / std::sqrt(static_cast<float>(d));
        std::vector<float> q = uniform(BH * T * d, -2, 2, 81), k = uniform(BH * T * d, -2, 2, 82),
                           v = uniform(BH * T * d, -1, 1, 83);
        std::vector<double> want(BH * T * d);
        for (int64_t b = 0; b < BH; ++b)
          for (int64_t i = 0; i < T; ++i) {
            std::vector<double> s(T);
            double mx = -1e300, sum = 0;
            for (int64_t j = 0; j < T; ++j) {
              double acc = 0;
              for (int c = 0; c < d; ++c)
                acc += static_cast<double>(q[(b * T + i) * d + c]) * k[(b * T + j) * d + c];
              s[j] = acc * scale;
              mx = std::max(mx, s[j]);
            }
            for (int64_t j = 0; j < T; ++j) sum += s[j] = std::exp(s[j] - mx);
            for (int c = 0; c < d; ++c) {
              double o = 0;
              for (int64_t j = 0; j < T; ++j) o += s[j] * v[(b * T + j) * d + c];
              want[(b * T + i) * d + c] = o / sum;
            }
          }
        DevArray<float> dq(q), dk(k), dv(v), dout(BH * T * d);
        for (auto sched : kSchedules) {
          ScheduleGuard g(sched);
          for (int threads : {32, 64}) {
            CAPTURE(T);
            CAPTURE(d);
            CAPTURE(threads);
            dout.poison();
            attention_forward_f32(dq.p, dk.p, dv.p, dout.p, BH, T, d, scale, threads);
            CHECK(rel_err(dout.get(), want) <= 1e-5);
          }
        }
      }
  }

  TEST_CASE("emu elem: DeviceBackend elementwise entry points match CpuRefBackend") {
    DeviceBackend be;
    CpuRefBackend ref;
    // unary / unary_backward
    for (UnaryOp op : {UnaryOp::Gelu, UnaryOp::Sqrt, UnaryOp::Clamp, UnaryOp::Sigmoid}) {
      UnaryParams p{-0.4, 0.6};
      Tensor x = Tensor::uniform({5, 13}, 0.1, 2.0, 3), dy = Tensor::randn({5, 13}, 4);
      Tensor y1 = Tensor::empty({5, 13}), y2 = Tensor::empty({5, 13});
      be.unary(op, x, y1, p);
      ref.unary(op, x, y2, p);
      CHECK(rel_err(y1.to_vector(), y2.to_vector()) <= 1e-6);
      Tensor g1 = Tensor::empty({5, 13}), g2 = Tensor::empty({5, 13});
      be.unary_backward(op, x, y2, dy, g1, p);
      ref.unary_backward(op, x, y2, dy, g2, p);
      CHECK(rel_err(g1.to_vector(), g2.to_vector()) <= 1e-5);
    }
    // binary with broadcasting
    {
      Tensor a = Tensor::randn({4, 1, 6}, 5), b = Tensor::uniform({3, 1}, 0.5, 2, 6);
      for (BinaryOp op : {BinaryOp::Add, BinaryOp::Div, BinaryOp::Max}) {
        Tensor c1 = Tensor::empty({4, 3, 6}), c2 = Tensor::empty({4, 3, 6});
        be.binary(op, a, b, c1);
        ref.binary(op, a, b, c2);
        CHECK(rel_err(c1.to_vector(), c2.to_vector()) <= 1e-6);
      }
    }
    // reduce_sum
    for (Shape ys : {Shape{3, 1, 1}, Shape{1, 5, 1}, Shape{1, 1, 7}, Shape{1, 1, 1}}) {
      Tensor x = Tensor::randn({3, 5, 7}, 7), y1 = Tensor::empty(ys), y2 = Tensor::empty(ys);
      be.reduce_sum(x, y1);
      ref.reduce_sum(x, y2);
      CHECK(rel_err(y1.to_vector(), y2.to_vector()) <= 2e-6);
    }
    // copy of strided views of every dtype (the view does not start at its storage's start)
    for (DType dt : {DType::F32, DType::F64, DType::I64, DType::U8}) {
      Tensor base = Tensor::empty({6, 7, 3}, dt);
      auto* bytes = static_cast<uint8_t*>(base.raw());
      for (size_t i = 0; i < base.nbytes(); ++i) bytes[i] = static_cast<uint8_t>(i * 13 + 5);
      Tensor view = make_view(base, {3, 5, 2}, {1, 6, 21}, 22);  // permuted slice
      Tensor d1 = Tensor::empty({3, 5, 2}, dt), d2 = Tensor::empty({3, 5, 2}, dt);
      be.copy(view, d1);
      ref.copy(view, d2);
      CHECK(bytes_as<uint8_t>(d1) == bytes_as<uint8_t>(d2));
    }
    // dropout
    {
      Tensor x = Tensor::randn({11, 13}, 8);
      Tensor y1 = Tensor::empty({11, 13}), y2 = Tensor::empty({11, 13});
      Tensor m1 = Tensor::empty({11, 13}, DType::U8), m2 = Tensor::empty({11, 13}, DType::U8);
      be.dropout_forward(x, y1, m1, 0.3, 77);
      ref.dropout_forward(x, y2, m2, 0.3, 77);
      CHECK(bytes_as<uint8_t>(m1) == bytes_as<uint8_t>(m2));
      CHECK(rel_err(y1.to_vector(), y2.to_vector()) <= 1e-6);
      Tensor dy = Tensor::randn({11, 13}, 9), g1 = Tensor::empty({11, 13}),
             g2 = Tensor::empty({11, 13});
      be.dropout_backward(dy, m2, g1, 0.3);
      ref.dropout_backward(dy, m2, g2, 0.3);
      CHECK(rel_err(g1.to_vector(), g2.to_vector()) <= 1e-6);
    }
    // f64 goes to cpu_ref
    {
      Tensor x = Tensor::randn({9}, 10, DType::F64), y1 = Tensor::empty({9}, DType::F64),
             y2 = Tensor::empty({9}, DType::F64);
      be.unary(UnaryOp::Tanh, x, y1, {});
      ref.unary(UnaryOp::Tanh, x, y2, {});
      CHECK(y1.to_vector_f64() == y2.to_vector_f64());
    }
    device_empty_cache();  // frees every cached block, verifying its guard bytes
  }
}

}  // namespace lethe::kemu
