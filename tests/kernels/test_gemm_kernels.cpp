// kernels/cuda/gemm.cu and conv.cu in the emulator, and DeviceBackend's bmm / conv2d: every
// GEMM configuration against a double loop on shapes that are not multiples of any tile, with
// transposes, padded leading dimensions, broadcast batches and alpha/beta (beta = 0 over
// NaN-filled C); the convolutions against CpuRefBackend; the cuBLAS path (fake cuBLAS) against
// the kernel path.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/cpu_ref/cpu_ref.h"
#include "engine/backend/cuda/blas.h"
#include "engine/backend/cuda/device_backend.h"
#include "engine/backend/device_options.h"
#include "kernels/cuda/compat.h"
#include "kernels/cuda/conv.cuh"
#include "kernels/cuda/gemm.cuh"
#include "kernels/emu/cublas.h"
#include "tests/support/dev_array.h"

namespace lethe::kemu {
namespace {

const ScheduleChoice kSchedules[] = {
    {Schedule::InOrder, 0}, {Schedule::Reverse, 0}, {Schedule::Random, 7}};

std::vector<float> random_vec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

struct GemmCase {
  bool ta, tb;
  int64_t M, N, K, lda, ldb, ldc, sa, sb, sc, batch;
  float alpha, beta;
};

// Elements each operand spans (batch strides of 0 broadcast one matrix).
size_t span(int64_t rows, int64_t ld, int64_t stride, int64_t batch) {
  int64_t one = rows * ld;
  return static_cast<size_t>(std::max<int64_t>(one, stride * (batch - 1) + one));
}

// C in double from the host copies, and per element the sum of the magnitudes of its terms
// (alpha·Σ|a||b| + |beta·c|): float rounding of any summation order stays within K·eps of it.
std::vector<double> gemm_ref(const GemmCase& g, const std::vector<float>& A,
                             const std::vector<float>& B, const std::vector<float>& C0,
                             std::vector<double>& magnitude) {
  std::vector<double> C(C0.begin(), C0.end());
  magnitude.assign(C0.size(), 0.0);
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t i = 0; i < g.M; ++i)
      for (int64_t j = 0; j < g.N; ++j) {
        double acc = 0, mag = 0;
        for (int64_t k = 0; k < g.K; ++k) {
          double av = g.ta ? A[b * g.sa + k * g.lda + i] : A[b * g.sa + i * g.lda + k];
          double bv = g.tb ? B[b * g.sb + j * g.ldb + k] : B[b * g.sb + k * g.ldb + j];
          acc += av * bv;
          mag += std::fabs(av * bv);
        }
        size_t e = static_cast<size_t>(b * g.sc + i * g.ldc + j);
        double cb = g.beta == 0.f ? 0.0 : g.beta * C[e];
        C[e] = g.alpha * acc + cb;
        magnitude[e] = std::fabs(g.alpha) * mag + std::fabs(cb);
      }
  return C;
}

// Runs the case on the device and checks every element of C's span: the M×N parts against the
// double result (relative to the element's magnitude), everything else (padding) unchanged.
void check_gemm(const GemmCase& g, GemmConfig cfg, uint32_t seed, bool nan_c) {
  std::string config = gemm_config_name(cfg);
  CAPTURE(config);
  CAPTURE(g.ta);
  CAPTURE(g.tb);
  CAPTURE(g.M);
  CAPTURE(g.N);
  CAPTURE(g.K);
  CAPTURE(g.batch);
  std::vector<float> A = random_vec(span(g.ta ? g.K : g.M, g.lda, g.sa, g.batch), seed);
  std::vector<float> B = random_vec(span(g.tb ? g.N : g.K, g.ldb, g.sb, g.batch), seed + 1);
  std::vector<float> C0 = random_vec(span(g.M, g.ldc, g.sc, g.batch), seed + 2);
  if (nan_c) {
    for (int64_t b = 0; b < g.batch; ++b)
      for (int64_t i = 0; i < g.M; ++i)
        for (int64_t j = 0; j < g.N; ++j)
          C0[b * g.sc + i * g.ldc + j] = std::numeric_limits<float>::quiet_NaN();
  }
  std::vector<double> magnitude;
  std::vector<double> want = gemm_ref(g, A, B, C0, magnitude);
  DevArray<float> dA(A), dB(B), dC(C0);
  gemm(g.ta, g.tb, g.M, g.N, g.K, g.alpha, dA.p, g.lda, g.sa, dB.p, g.ldb, g.sb, g.beta, dC.p,
       g.ldc, g.sc, g.batch, nullptr, cfg);
  std::vector<float> got = dC.get();
  double err = 0;  // the largest error relative to the element's magnitude
  std::vector<bool> in_matrix(got.size(), false);
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t i = 0; i < g.M; ++i)
      for (int64_t j = 0; j < g.N; ++j) in_matrix[b * g.sc + i * g.ldc + j] = true;
  bool finite = true, padding_kept = true;
  for (size_t e = 0; e < got.size(); ++e) {
    if (!in_matrix[e]) {
      if (std::memcmp(&got[e], &C0[e], 4) != 0) padding_kept = false;
      continue;
    }
    if (!std::isfinite(got[e])) finite = false;
    err = std::max(err, std::fabs(got[e] - want[e]) / std::max(magnitude[e], 1e-30));
  }
  CHECK(finite);
  CHECK(padding_kept);
  CHECK(err <= 1e-5);
}

GemmCase dense(bool ta, bool tb, int64_t M, int64_t N, int64_t K, int64_t batch = 1) {
  GemmCase g{ta, tb, M, N, K, ta ? M : K, tb ? K : N, N, 0, 0, 0, batch, 1.f, 0.f};
  g.sa = M * K;
  g.sb = K * N;
  g.sc = M * N;
  return g;
}

// ---- convolution helpers ----
struct ConvCase {
  int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw;
};
ConvGeometry geom(const ConvCase& k) {
  int64_t oh = (k.h + 2 * k.ph - k.kh) / k.sh + 1, ow = (k.w + 2 * k.pw - k.kw) / k.sw + 1;
  return {k.n, k.c, k.h, k.w, k.o, k.kh, k.kw, oh, ow, k.sh, k.sw, k.ph, k.pw};
}
Conv2dArgs args(const ConvCase& k) {
  Conv2dArgs a;
  a.stride_h = k.sh;
  a.stride_w = k.sw;
  a.pad_h = k.ph;
  a.pad_w = k.pw;
  return a;
}
// 1×1; 3×3 pad 1; 7×7 stride 2 pad 3; stride 2 on odd sizes with a non-square kernel; C = 3.
const ConvCase kConvCases[] = {
    {3, 5, 6, 7, 9, 1, 1, 1, 1, 0, 0},   {2, 4, 7, 5, 6, 3, 3, 1, 1, 1, 1},
    {2, 3, 13, 11, 5, 7, 7, 2, 2, 3, 3}, {3, 4, 9, 7, 5, 3, 2, 2, 2, 1, 0},
    {3, 3, 8, 8, 17, 3, 3, 1, 2, 0, 1},
};

double rel_err(const std::vector<float>& got, const Tensor& want) {
  std::vector<double> w = want.to_vector_f64();
  REQUIRE(got.size() == w.size());
  double num = 0, den = 1e-6;
  for (size_t i = 0; i < w.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num = std::max(num, std::fabs(got[i] - w[i]));
    den = std::max(den, std::fabs(w[i]));
  }
  return num / den;
}

Tensor rand_t(const Shape& s, uint64_t seed) {
  return Tensor::randn(s, seed);
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("emu gemm: every configuration and transpose on prime-sized shapes") {
    size_t live = live_device_allocations();
    const int64_t sizes[] = {1, 7, 33, 65, 100};
    uint32_t seed = 1;
    for (GemmConfig cfg : kGemmConfigs)
      for (int t = 0; t < 4; ++t)
        for (int64_t M : sizes)
          for (int64_t N : sizes)
            for (int64_t K : sizes) {
              check_gemm(dense(t & 1, t & 2, M, N, K), cfg, seed++, true);
            }
    CHECK(live_device_allocations() == live);
  }

  TEST_CASE("emu gemm: padded leading dimensions, broadcast batches, alpha and beta") {
    size_t live = live_device_allocations();
    uint32_t seed = 100;
    for (GemmConfig cfg : kGemmConfigs)
      for (int t = 0; t < 4; ++t) {
        bool ta = t & 1, tb = t & 2;
        for (auto [M, N, K] :
             {std::tuple<int64_t, int64_t, int64_t>{7, 65, 33}, {33, 17, 70}, {130, 5, 9}}) {
          // Padded rows and padded batch strides; C's padding must survive.
          GemmCase g{ta, tb, M, N,     K,  (ta ? M : K) + 3, (tb ? K : N) + 5, N + 2, 0,
                     0,  0,  3, 0.75f, 0.f};
          g.sa = (ta ? K : M) * g.lda + 11;
          g.sb = (tb ? N : K) * g.ldb + 4;
          g.sc = M * g.ldc + 6;
          check_gemm(g, cfg, seed++, true);  // beta = 0 over NaN
          g.beta = -0.5f;
          check_gemm(g, cfg, seed++, false);  // C read and scaled
          g.beta = 1.f;
          g.alpha = 1.f;
          GemmCase ba = g, bb = g;
          ba.sa = 0;  // one A for every batch entry
          check_gemm(ba, cfg, seed++, false);
          bb.sb = 0;  // one B for every batch entry
          check_gemm(bb, cfg, seed++, false);
        }
      }
    // K = 0: C = beta·C (and 0 for beta = 0, whatever C held); empty outputs launch nothing.
    check_gemm(dense(false, false, 9, 10, 0), GemmConfig::Tile64x64, 7, true);
    GemmCase k0 = dense(true, true, 9, 10, 0);
    k0.beta = 2.f;
    check_gemm(k0, GemmConfig::Tile32x32, 8, false);
    {
      DevArray<float> none(std::vector<float>{});
      gemm(false, false, 0, 5, 3, 1.f, none.p, 3, 0, none.p, 5, 0, 0.f, none.p, 5, 0, 1, nullptr);
      gemm(false, false, 4, 5, 3, 1.f, none.p, 3, 0, none.p, 5, 0, 0.f, none.p, 5, 0, 0, nullptr);
      CHECK_THROWS_AS(gemm(false, false, 4, 5, 3, 1.f, none.p, 2, 0, none.p, 5, 0, 0.f, none.p, 5,
                           0, 1, nullptr),
                      std::invalid_argument);
    }
    CHECK(gemm_auto_config(8, 1000, 1) == GemmConfig::Skinny16x64);
    CHECK(gemm_auto_config(2048, 2048, 1) == GemmConfig::Tile128x128);
    CHECK(gemm_auto_config(100, 100, 1) == GemmConfig::Tile32x32);
    CHECK(live_device_allocations() == live);
  }

  TEST_CASE("emu gemm: every configuration under every schedule") {
    uint32_t seed = 500;
    for (auto sched : kSchedules) {
      ScheduleGuard guard(sched);
      CAPTURE(schedule_name(sched));
      for (GemmConfig cfg : kGemmConfigs)
        for (int t = 0; t < 4; ++t) {
          check_gemm(dense(t & 1, t & 2, 33, 65, 37, 2), cfg, seed++, true);
          check_gemm(dense(t & 1, t & 2, 130, 7, 17), cfg, seed++, true);
        }
    }
  }

  TEST_CASE("emu gemm: the convolution kernels match cpu_ref") {
    size_t live = live_device_allocations();
    CpuRefBackend ref;
    const GemmConfig cfgs[] = {GemmConfig::Auto, GemmConfig::Tile32x32, GemmConfig::Skinny16x64,
                               GemmConfig::Tile64x64};
    const int threads[] = {32, 96, 256, 1024};
    int round = 0;
    for (const ConvCase& k : kConvCases) {
      ConvGeometry g = geom(k);
      CAPTURE(k.c);
      CAPTURE(k.kh);
      CAPTURE(k.sh);
      Tensor x = rand_t({k.n, k.c, k.h, k.w}, 11), w = rand_t({k.o, k.c, k.kh, k.kw}, 12);
      Tensor bias = rand_t({k.o}, 13), dy = rand_t({k.n, k.o, g.oh, g.ow}, 14);
      Tensor y_ref = Tensor::empty({k.n, k.o, g.oh, g.ow}), dx_ref = Tensor::empty(x.shape());
      Tensor dw_ref = Tensor::empty(w.shape()), db_ref = Tensor::empty({k.o});
      ref.conv2d_forward(x, w, bias, y_ref, args(k));
      ref.conv2d_backward_input(dy, w, dx_ref, args(k));
      ref.conv2d_backward_weight(dy, x, dw_ref, db_ref, args(k));
      DevArray<float> dx_in(x.to_vector()), dw_in(w.to_vector()), db_in(bias.to_vector()),
          ddy(dy.to_vector());
      for (auto sched : kSchedules) {
        ScheduleGuard guard(sched);
        CAPTURE(schedule_name(sched));
        for (int64_t chunk : {int64_t{1}, int64_t{2}, k.n}) {
          ++round;
          ConvExec e;
          e.chunk = chunk;
          e.gemm_config = cfgs[round % 4];
          e.threads = threads[round % 4];
          CAPTURE(chunk);
          CAPTURE(e.threads);
          std::vector<float> nan_y(y_ref.numel(), NAN), nan_x(x.numel(), NAN),
              nan_w(w.numel(), NAN), nan_b(k.o, NAN),
              work(static_cast<size_t>(conv2d_workspace(g, chunk)), NAN);
          DevArray<float> y(nan_y), dxo(nan_x), dwo(nan_w), dbo(nan_b), ws(work);
          e.work = ws.p;
          conv2d_forward(dx_in.p, dw_in.p, db_in.p, y.p, g, e, nullptr);
          CHECK(rel_err(y.get(), y_ref) <= 1e-5);
          conv2d_backward_input(ddy.p, dw_in.p, dxo.p, g, e, nullptr);
          CHECK(rel_err(dxo.get(), dx_ref) <= 1e-5);
          conv2d_backward_weight(ddy.p, dx_in.p, dwo.p, dbo.p, g, e, nullptr);
          CHECK(rel_err(dwo.get(), dw_ref) <= 1e-5);
          CHECK(rel_err(dbo.get(), db_ref) <= 1e-5);
        }
      }
    }
    CHECK(live_device_allocations() == live);
  }

  TEST_CASE("emu gemm: --tf32 rounds the vendor GEMM's operands, never Lethe's own kernels") {
    DeviceBackend be;
    CpuRefBackend ref;
    const DeviceOptions saved = device_options();
    struct Restore {
      DeviceOptions o;
      ~Restore() { set_device_options(o); }
    } restore{saved};
    const int64_t M = 33, N = 29, K = 257;
    Tensor a = rand_t({1, M, K}, 91), b = rand_t({1, K, N}, 92);
    Tensor cr = Tensor::zeros({1, M, N});
    ref.bmm(a, b, cr, false, false, false);
    auto run = [&](bool vendor, bool tf32) {
      DeviceOptions o;
      o.vendor = vendor;
      o.tf32 = tf32;
      set_device_options(o);
      Tensor c = Tensor::zeros({1, M, N});
      be.bmm(a, b, c, false, false, false);
      return rel_err(c.to_vector(), cr);
    };
    // float32 operands: within float32 rounding of the double reference.
    CHECK(run(true, false) <= 1e-6);
    CHECK(run(false, false) <= 1e-5);
    CHECK(run(false, true) <= 1e-5);  // own kernels ignore --tf32
    // TF32 keeps 10 of 23 mantissa bits: each operand is off by up to 2^-11 relative, so the
    // result moves by ~1e-4..1e-3 of its scale, far beyond float32 rounding.
    const double tf32_err = run(true, true);
    CAPTURE(tf32_err);
    CHECK(tf32_err > 1e-5);
    CHECK(tf32_err < 5e-3);
  }

  TEST_CASE("emu gemm: DeviceBackend bmm and conv2d match cpu_ref on both GEMM paths") {
    DeviceBackend be;
    CpuRefBackend ref;
    const DeviceOptions saved = device_options();  // set_gemm_path changes the process's options
    struct Restore {
      DeviceOptions o;
      ~Restore() { set_device_options(o); }
    } restore{saved};
    for (auto path : {DeviceBackend::FastPath::Kernels, DeviceBackend::FastPath::Vendor}) {
      be.set_gemm_path(path);
      bool vendor = path == DeviceBackend::FastPath::Vendor;
      CAPTURE(vendor);
      uint64_t calls = cublas_calls();
      // bmm: transposes, broadcast b, accumulate.
      for (int t = 0; t < 4; ++t) {
        bool ta = t & 1, tb = t & 2;
        const int64_t B = 3, M = 17, N = 9, K = 66;
        for (int64_t Bb : {int64_t{1}, B})
          for (bool acc : {false, true}) {
            CAPTURE(t);
            CAPTURE(Bb);
            CAPTURE(acc);
            Tensor a = rand_t(ta ? Shape{B, K, M} : Shape{B, M, K}, 21 + t);
            Tensor b = rand_t(tb ? Shape{Bb, N, K} : Shape{Bb, K, N}, 31 + t);
            Tensor c0 = rand_t({B, M, N}, 41);
            Tensor c = c0.clone(), cr = c0.clone();
            be.bmm(a, b, c, ta, tb, acc);
            ref.bmm(a, b, cr, ta, tb, acc);
            CHECK(rel_err(c.to_vector(), cr) <= 1e-5);
          }
      }
      // conv2d on every case.
      for (const ConvCase& k : kConvCases) {
        ConvGeometry g = geom(k);
        Tensor x = rand_t({k.n, k.c, k.h, k.w}, 51), w = rand_t({k.o, k.c, k.kh, k.kw}, 52);
        Tensor bias = rand_t({k.o}, 53), dy = rand_t({k.n, k.o, g.oh, g.ow}, 54);
        Shape ys{k.n, k.o, g.oh, g.ow};
        Tensor y = Tensor::empty(ys), yr = Tensor::empty(ys), y_nb = Tensor::empty(ys),
               yr_nb = Tensor::empty(ys);
        be.conv2d_forward(x, w, bias, y, args(k));
        ref.conv2d_forward(x, w, bias, yr, args(k));
        CHECK(rel_err(y.to_vector(), yr) <= 1e-5);
        be.conv2d_forward(x, w, Tensor(), y_nb, args(k));
        ref.conv2d_forward(x, w, Tensor(), yr_nb, args(k));
        CHECK(rel_err(y_nb.to_vector(), yr_nb) <= 1e-5);
        Tensor dx = Tensor::full(x.shape(), 7.0), dxr = Tensor::empty(x.shape());
        be.conv2d_backward_input(dy, w, dx, args(k));
        ref.conv2d_backward_input(dy, w, dxr, args(k));
        CHECK(rel_err(dx.to_vector(), dxr) <= 1e-5);
        Tensor dw = Tensor::full(w.shape(), 7.0), dwr = Tensor::empty(w.shape());
        Tensor db = Tensor::full({k.o}, 7.0), dbr = Tensor::empty({k.o});
        be.conv2d_backward_weight(dy, x, dw, db, args(k));
        ref.conv2d_backward_weight(dy, x, dwr, dbr, args(k));
        CHECK(rel_err(dw.to_vector(), dwr) <= 1e-5);
        CHECK(rel_err(db.to_vector(), dbr) <= 1e-5);
        Tensor dw2 = Tensor::empty(w.shape()), none;
        be.conv2d_backward_weight(dy, x, dw2, none, args(k));
        CHECK(rel_err(dw2.to_vector(), dwr) <= 1e-5);
      }
      // The vendor path called cuBLAS (one call per bmm, one per conv chunk); the kernel path
      // never did.
      if (vendor)
        CHECK(cublas_calls() >= calls + 16 + 5 * 5);
      else
        CHECK(cublas_calls() == calls);
    }
    // f64 goes to cpu_ref: bit-identical results.
    Tensor a = rand_t({2, 5, 4}, 61).to(DType::F64), b = rand_t({1, 4, 3}, 62).to(DType::F64);
    Tensor c = Tensor::zeros({2, 5, 3}, DType::F64), cr = Tensor::zeros({2, 5, 3}, DType::F64);
    be.bmm(a, b, c, false, false, false);
    ref.bmm(a, b, cr, false, false, false);
    CHECK(c.to_vector_f64() == cr.to_vector_f64());
    // Shapes that do not fit: one clear error.
    Tensor bad = Tensor::empty({2, 5, 3});
    CHECK_THROWS_AS(be.bmm(rand_t({2, 5, 4}, 1), rand_t({2, 5, 3}, 2), bad, false, false, false),
                    Error);
    // A cuBLAS failure is one lethe::Error naming the call and the status.
    std::string msg;
    try {
      float one = 1.f;
      LETHE_CUBLAS_CHECK(cublasSgemmStridedBatched(blas_handle(), CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4,
                                                   &one, nullptr, 1, 0, nullptr, 4, 0, &one,
                                                   nullptr, 4, 0, 1));
    } catch (const Error& e) {
      msg = e.what();
    }
    CHECK(msg.find("cublasSgemmStridedBatched") != std::string::npos);
    CHECK(msg.find("CUBLAS_STATUS_INVALID_VALUE") != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
    device_empty_cache();  // verifies the guard bytes of every block the backend used
  }
}

}  // namespace lethe::kemu
