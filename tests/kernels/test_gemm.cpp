// sgemm against a naive double-accumulating reference, on every ISA path this CPU supports.
#include <doctest/doctest.h>

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_pack.h"

namespace {

namespace cpu = lethe::kernels::cpu;

// The paths this CPU takes (and LETHE_ISA allows); the others are named as skipped.
std::vector<cpu::GemmIsa> supported_isas() {
  std::vector<cpu::GemmIsa> out;
  for (auto isa : {cpu::GemmIsa::Scalar, cpu::GemmIsa::Avx2, cpu::GemmIsa::Avx512}) {
    if (cpu::gemm_isa_supported(isa))
      out.push_back(isa);
    else
      std::printf("sgemm: ISA path %s SKIPPED (this CPU lacks it or LETHE_ISA excludes it)\n",
                  cpu::gemm_isa_name(isa));
  }
  return out;
}

// Restores the ISA chosen at start-up even when a check throws out of the test.
struct IsaGuard {
  cpu::GemmIsa saved = cpu::gemm_isa();
  ~IsaGuard() { cpu::set_gemm_isa(saved); }
};

constexpr float kSentinel = -12345.678f;
constexpr int64_t kGuard = 37;  // floats of guard before and after the C buffer

struct Case {
  bool ta = false, tb = false;
  int64_t M = 1, N = 1, K = 1;
  int64_t pad_a = 0, pad_b = 0, pad_c = 0;  // leading dimension beyond the minimum
  float alpha = 1.0f, beta = 0.0f;
};

std::string describe(const Case& c, cpu::GemmIsa isa) {
  return std::string(cpu::gemm_isa_name(isa)) + " ta=" + std::to_string(c.ta) +
         " tb=" + std::to_string(c.tb) + " M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) +
         " K=" + std::to_string(c.K) + " pads=" + std::to_string(c.pad_a) + "," +
         std::to_string(c.pad_b) + "," + std::to_string(c.pad_c) +
         " alpha=" + std::to_string(c.alpha) + " beta=" + std::to_string(c.beta);
}

// Runs one case on every ISA in `isas` and checks values, untouched padding and guards.
// Returns the number of failing elements (0 on success) so that a broken kernel reports once per
// case instead of once per element.
int64_t run_case(const Case& c, const std::vector<cpu::GemmIsa>& isas, std::mt19937& rng,
                 bool nested = false) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int64_t a_rows = c.ta ? c.K : c.M, a_cols = c.ta ? c.M : c.K;
  const int64_t b_rows = c.tb ? c.N : c.K, b_cols = c.tb ? c.K : c.N;
  const int64_t lda = a_cols + c.pad_a, ldb = b_cols + c.pad_b, ldc = c.N + c.pad_c;
  // Unused padding of A and B holds NaN: reading it would poison the result.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> A(static_cast<size_t>(std::max<int64_t>(1, a_rows * lda)), nan);
  std::vector<float> B(static_cast<size_t>(std::max<int64_t>(1, b_rows * ldb)), nan);
  for (int64_t r = 0; r < a_rows; ++r) {
    for (int64_t q = 0; q < a_cols; ++q) A[r * lda + q] = dist(rng);
  }
  for (int64_t r = 0; r < b_rows; ++r) {
    for (int64_t q = 0; q < b_cols; ++q) B[r * ldb + q] = dist(rng);
  }
  std::vector<float> C0(static_cast<size_t>(c.M * c.N));
  for (auto& v : C0) v = dist(rng);

  // Reference in double, with the magnitude sum_k |a||b| that bounds the float rounding error.
  std::vector<double> ref(C0.size()), mag(C0.size());
  for (int64_t i = 0; i < c.M; ++i) {
    for (int64_t j = 0; j < c.N; ++j) {
      double s = 0.0, m = 0.0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double a = c.ta ? A[k * lda + i] : A[i * lda + k];
        const double b = c.tb ? B[j * ldb + k] : B[k * ldb + j];
        s += a * b;
        m += std::fabs(a * b);
      }
      const double old = C0[i * c.N + j];
      ref[i * c.N + j] = c.alpha * s + (c.beta != 0.0f ? c.beta * old : 0.0);
      mag[i * c.N + j] = std::fabs(c.alpha) * m + std::fabs(c.beta) * std::fabs(old);
    }
  }
  // Tolerance: float accumulation of K products with rounding unit u = 2^-24 ≈ 6e-8 has a
  // worst-case error of about K·u·Σ|a||b|, and a typical (random-walk) error of about
  // sqrt(K)·u·Σ|a||b|. Allowing 1e-6·sqrt(K+1)·Σ|a||b| (≈ 16× the typical error) is safe for
  // any summation order the blocking picks, yet a single dropped or doubled product (error
  // ≈ Σ|a||b|/K on average) is still far above it for every K used here.
  const double rel_tol = 1e-6 * std::sqrt(static_cast<double>(c.K) + 1.0);

  int64_t failures = 0;
  for (const auto isa : isas) {
    cpu::set_gemm_isa(isa);
    const size_t c_size = static_cast<size_t>(std::max<int64_t>(0, (c.M - 1) * ldc + c.N));
    std::vector<float> buf(c_size + 2 * kGuard, kSentinel);
    float* C = buf.data() + kGuard;
    for (int64_t i = 0; i < c.M; ++i) {
      for (int64_t j = 0; j < c.N; ++j) {
        // beta == 0: C must not be read, so fill it with NaN to catch a 0·NaN.
        C[i * ldc + j] = c.beta == 0.0f ? nan : C0[i * c.N + j];
      }
    }
    auto call = [&] {
      cpu::sgemm(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C, ldc);
    };
    if (nested) {
      // The engine calls sgemm from inside parallel loops: it must then run single-threaded.
#pragma omp parallel num_threads(2)
      {
#pragma omp single
        call();
      }
    } else {
      call();
    }

    int64_t bad = 0;
    double worst = 0.0;
    for (int64_t i = 0; i < c.M; ++i) {
      for (int64_t j = 0; j < c.N; ++j) {
        const double got = C[i * ldc + j], want = ref[i * c.N + j];
        const double tol = rel_tol * mag[i * c.N + j] + 1e-30;
        if (!std::isfinite(got) || std::fabs(got - want) > tol) {
          ++bad;
          worst = std::max(worst, std::isfinite(got) ? std::fabs(got - want) / tol : 1e300);
        }
      }
      for (int64_t j = c.N; j < ldc && i + 1 < c.M; ++j) {
        if (C[i * ldc + j] != kSentinel) ++bad;  // padding between rows
      }
    }
    for (int64_t g = 0; g < kGuard; ++g) {
      if (buf[g] != kSentinel || buf[kGuard + c_size + g] != kSentinel) ++bad;
    }
    if (bad) {
      FAIL_CHECK(describe(c, isa), ": ", bad, " bad elements, worst error/tol ", worst);
    }
    failures += bad;
  }
  return failures;
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("sgemm isa names and selection") {
    CHECK(std::string(cpu::gemm_isa_name(cpu::GemmIsa::Scalar)) == "scalar");
    CHECK(std::string(cpu::gemm_isa_name(cpu::GemmIsa::Avx2)) == "avx2");
    CHECK(std::string(cpu::gemm_isa_name(cpu::GemmIsa::Avx512)) == "avx512");
    IsaGuard guard;
    const auto isas = supported_isas();
    REQUIRE(!isas.empty());
    CHECK(isas.front() == cpu::GemmIsa::Scalar);
    // The default is the widest supported path.
    CHECK(guard.saved == isas.back());
    for (auto isa : isas) {
      cpu::set_gemm_isa(isa);
      CHECK(cpu::gemm_isa() == isa);
    }
  }

  TEST_CASE("sgemm small-size sweep, all transposes, all ISAs") {
    IsaGuard guard;
    const auto isas = supported_isas();
    std::mt19937 rng(1234);
    // 1, primes, and sizes around the register tiles (4, 6, 12, 16, 32 wide).
    const int64_t dims[] = {1, 5, 7, 13, 17, 31, 33, 97};
    const float alphas[] = {1.0f, -0.75f, 2.5f};
    const float betas[] = {0.0f, 1.0f, -0.5f};
    int64_t failures = 0, n = 0;
    for (int t = 0; t < 4; ++t) {
      for (int64_t M : dims) {
        for (int64_t N : dims) {
          for (int64_t K : dims) {
            Case c;
            c.ta = t & 1;
            c.tb = t & 2;
            c.M = M, c.N = N, c.K = K;
            c.pad_a = n % 3 == 0 ? 0 : n % 5;  // minimal and padded leading dimensions
            c.pad_b = n % 4 == 1 ? 0 : n % 7;
            c.pad_c = n % 2 == 0 ? 0 : 1 + n % 19;
            c.alpha = alphas[n % 3];
            c.beta = betas[(n / 3) % 3];
            failures += run_case(c, isas, rng);
            ++n;
          }
        }
      }
    }
    CHECK(failures == 0);
  }

  TEST_CASE("sgemm blocking edges: K, M, N beyond one cache block; threaded split") {
    IsaGuard guard;
    const auto isas = supported_isas();
    std::mt19937 rng(99);
    struct Dims {
      int64_t M, N, K;
    };
    // K beyond KC (256/512), M beyond MC, N beyond NC (2048/4096) with tiny M and K, and
    // products big enough to be split across threads, with odd edges everywhere.
    const Dims sizes[] = {{131, 257, 131}, {257, 131, 520}, {97, 97, 1031}, {3, 4133, 5},
                          {200, 33, 257},  {13, 300, 700},  {1, 257, 300},  {257, 1, 300},
                          {390, 70, 64},   {7, 2100, 13}};
    int64_t failures = 0, n = 0;
    for (const auto& d : sizes) {
      for (int t = 0; t < 4; ++t) {
        Case c;
        c.ta = t & 1;
        c.tb = t & 2;
        c.M = d.M, c.N = d.N, c.K = d.K;
        c.pad_a = 3 * (n % 2);
        c.pad_b = 17 * (n % 3 == 1);
        c.pad_c = 5 * (n % 2 == 0);
        c.alpha = n % 2 ? 1.0f : -1.25f;
        c.beta = n % 3 == 0 ? 0.0f : 0.5f;
        failures += run_case(c, isas, rng);
        ++n;
      }
    }
    CHECK(failures == 0);
  }

  // The AVX2 packs (used by the AVX2 and AVX-512 paths) against the portable ones, bit for bit:
  // every panel width the two paths use, both transposes, edge panels, K tails of 1..7 after the
  // 8-wide blocks, padded leading dimensions (padding holds NaN), and a guard after the output.
  // Run directly, so the AVX-512 path's 12- and 32-wide packs are checked on AVX2-only hosts too.
  TEST_CASE("sgemm packing: AVX2 packs equal the portable ones") {
    if (!cpu::gemm_isa_supported(cpu::GemmIsa::Avx2)) {
      std::printf("sgemm packing: AVX2 SKIPPED (this CPU lacks it or LETHE_ISA excludes it)\n");
      return;
    }
    namespace d = lethe::kernels::cpu::detail;
    std::mt19937 rng(17);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    int64_t cases = 0, mismatches = 0;
    auto check = [&](auto portable, auto avx2, bool is_b, int width, bool trans, int64_t rows,
                     int64_t kc, int64_t pad) {
      // The source: `rows` entries along M (A) or N (B) by kc, stored as the pack reads it (A
      // not transposed and B transposed hold those entries as rows of length kc).
      const bool rows_outer = is_b ? trans : !trans;
      const int64_t outer = rows_outer ? rows : kc, inner = rows_outer ? kc : rows;
      const int64_t ld = inner + pad;
      std::vector<float> src(static_cast<size_t>(outer * ld), nan);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) src[o * ld + i] = dist(rng);
      const int64_t panels = (rows + width - 1) / width;
      const size_t size = static_cast<size_t>(panels * kc * width) + kGuard;
      std::vector<float> want(size, kSentinel), got(size, kSentinel);
      if (is_b) {  // pack_b takes (kc, nc), pack_a (mc, kc)
        portable(trans, src.data(), ld, kc, rows, want.data());
        avx2(trans, src.data(), ld, kc, rows, got.data());
      } else {
        portable(trans, src.data(), ld, rows, kc, want.data());
        avx2(trans, src.data(), ld, rows, kc, got.data());
      }
      ++cases;
      if (std::memcmp(want.data(), got.data(), size * sizeof(float)) != 0) {
        ++mismatches;
        FAIL_CHECK("width ", width, " trans ", trans, " rows ", rows, " kc ", kc, " pad ", pad);
      }
    };
    for (const bool trans : {false, true})
      for (const int64_t kc : {1, 7, 8, 9, 16, 23, 64})
        for (const int64_t pad : {0, 3}) {
          for (const int64_t mc : {1, 5, 6, 7, 12, 13, 25})
            check(d::pack_a<6>, d::pack_a_avx2<6>, false, 6, trans, mc, kc, pad);
          for (const int64_t mc : {1, 11, 12, 13, 24, 37})
            check(d::pack_a<12>, d::pack_a_avx2<12>, false, 12, trans, mc, kc, pad);
          for (const int64_t nc : {1, 15, 16, 17, 32, 45})
            check(d::pack_b<16>, d::pack_b_avx2<16>, true, 16, trans, nc, kc, pad);
          for (const int64_t nc : {1, 31, 32, 33, 64, 77})
            check(d::pack_b<32>, d::pack_b_avx2<32>, true, 32, trans, nc, kc, pad);
        }
    CHECK(cases == 700);
    CHECK(mismatches == 0);
  }

  TEST_CASE("sgemm called inside a parallel region") {
    IsaGuard guard;
    const auto isas = supported_isas();
    std::mt19937 rng(7);
    Case c;
    c.M = 131, c.N = 257, c.K = 97, c.pad_c = 3, c.beta = 1.0f;
    CHECK(run_case(c, isas, rng, /*nested=*/true) == 0);
  }

  TEST_CASE("sgemm degenerate shapes: K == 0, alpha == 0, M or N == 0") {
    IsaGuard guard;
    const auto isas = supported_isas();
    std::mt19937 rng(5);
    for (const float beta : {0.0f, 1.0f, -2.0f}) {
      Case c;
      c.M = 13, c.N = 7, c.K = 0, c.pad_c = 2, c.beta = beta;  // C = beta * C
      CHECK(run_case(c, isas, rng) == 0);
      c.K = 31, c.alpha = 0.0f;  // alpha 0: C = beta * C
      CHECK(run_case(c, isas, rng) == 0);
    }
    // M or N zero: nothing is touched (the guards around C are checked).
    for (const auto& mn : {std::pair<int64_t, int64_t>{0, 9}, {9, 0}, {0, 0}}) {
      Case c;
      c.M = mn.first, c.N = mn.second, c.K = 4;
      CHECK(run_case(c, isas, rng) == 0);
    }
    float dummy = 0.0f;
    CHECK_THROWS_AS(cpu::sgemm(false, false, -1, 1, 1, 1.0f, &dummy, 1, &dummy, 1, 0.0f, &dummy, 1),
                    std::invalid_argument);
    CHECK_THROWS_AS(cpu::sgemm(false, false, 2, 2, 2, 1.0f, &dummy, 1, &dummy, 2, 0.0f, &dummy, 2),
                    std::invalid_argument);
  }
}
