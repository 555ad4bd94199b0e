// The CPU backend's vectorised exp and GELU (kernels/cpu/vmath.h) against double precision, on
// both dispatch paths: error bounds measured here are the ones vmath.h states.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vmath.h"
#include "tests/support/isa.h"

using namespace lethe::kernels::cpu;
using lethe::testing::for_each_isa;

namespace {

double gelu_ref(double x) {
  return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
}
double gelu_grad_ref(double x) {
  return 0.5 * std::erfc(-x / std::sqrt(2.0)) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * M_PI);
}

struct Errors {
  double rel_core = 0;  // max relative error for |x| ≤ 6
  double rel_tail = 0;  // max relative error for 6 < |x| ≤ 12 (values down to 1e-32)
  double abs = 0;       // max absolute error
};

Errors measure(const std::vector<float>& x, const std::vector<float>& got, double (*ref)(double)) {
  Errors e;
  for (size_t i = 0; i < x.size(); ++i) {
    const double r = ref(x[i]), err = std::fabs(got[i] - r);
    e.abs = std::max(e.abs, err);
    if (r == 0) continue;
    double& rel = std::fabs(x[i]) <= 6 ? e.rel_core : e.rel_tail;
    rel = std::max(rel, err / std::fabs(r));
  }
  return e;
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("cpu gelu forward and backward match double-precision erf on every ISA path") {
    std::vector<float> x;
    for (int i = -120000; i <= 120000; ++i) x.push_back(static_cast<float>(i) * 1e-4f);
    x.push_back(1e-30f);
    x.push_back(-1e-30f);
    x.push_back(0.f);
    for_each_isa([&](const char* isa) {
      std::vector<float> y(x.size()), dx(x.size()), ones(x.size(), 1.0f);
      gelu_forward(x.data(), y.data(), static_cast<int64_t>(x.size()));
      gelu_backward(x.data(), ones.data(), dx.data(), static_cast<int64_t>(x.size()));
      const Errors ef = measure(x, y, gelu_ref), eb = measure(x, dx, gelu_grad_ref);
      std::printf(
          "gelu %-6s fwd: rel err %.2e (|x| <= 6), %.2e (tail), abs %.2e; bwd: abs err %.2e\n", isa,
          ef.rel_core, ef.rel_tail, ef.abs, eb.abs);
      // The gradient crosses zero at x ≈ −0.75, so it is judged by absolute error.
      CHECK(ef.rel_core < 1e-5);
      CHECK(ef.rel_tail < 1e-4);
      CHECK(ef.abs < 2e-6);
      CHECK(eb.abs < 2e-6);
      // Infinities follow the formula 0.5·x·(1 + erf(x/√2)): +inf stays, −inf gives NaN (as
      // std::erf's form does); NaN propagates.
      const float special[3] = {INFINITY, -INFINITY, NAN};
      float sy[3];
      gelu_forward(special, sy, 3);
      CHECK(sy[0] == INFINITY);
      CHECK(std::isnan(sy[2]));
    });
  }

  TEST_CASE("cpu gelu: every length and offset gives the full array's values, nothing past n") {
    // The loops work in blocks of 32 with a zero-padded tail; a tail element must equal the same
    // element inside a block, bit for bit, and no write may land past the end.
    std::vector<float> x(200);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 37) * 0.31f - 5.5f;
    for_each_isa([&](const char*) {
      const auto n_all = static_cast<int64_t>(x.size());
      std::vector<float> y_all(x.size()), dx_all(x.size()), dy(x.size());
      for (size_t i = 0; i < dy.size(); ++i) dy[i] = 1.0f + static_cast<float>(i % 5);
      gelu_forward(x.data(), y_all.data(), n_all);
      gelu_backward(x.data(), dy.data(), dx_all.data(), n_all);
      const float guard = -12345.0f;
      int mismatches = 0, overwritten = 0;
      for (int64_t off : {0, 1, 7}) {
        for (int64_t n = 0; n <= 97; ++n) {
          std::vector<float> y(n + 1, guard), dx(n + 1, guard);
          gelu_forward(x.data() + off, y.data(), n);
          gelu_backward(x.data() + off, dy.data() + off, dx.data(), n);
          for (int64_t i = 0; i < n; ++i) {
            mismatches += y[i] != y_all[off + i];
            mismatches += dx[i] != dx_all[off + i];
          }
          overwritten += (y[n] != guard) + (dx[n] != guard);
        }
      }
      CHECK(mismatches == 0);
      CHECK(overwritten == 0);
    });
  }

  TEST_CASE("cpu exp_shifted_sum matches double exp, sums, aliases and stops at n") {
    for_each_isa([&](const char* isa) {
      // Accuracy over the whole normal range, shift 0.
      std::vector<float> x;
      for (int i = -870000; i <= 880000; ++i) x.push_back(static_cast<float>(i) * 1e-4f);
      std::vector<float> y(x.size());
      exp_shifted_sum(x.data(), 0.f, y.data(), static_cast<int64_t>(x.size()));
      double rel = 0;
      for (size_t i = 0; i < x.size(); ++i)
        rel = std::max(rel, std::fabs(y[i] - std::exp(static_cast<double>(x[i]))) /
                                std::exp(static_cast<double>(x[i])));
      std::printf("exp    %-6s rel err %.2e on [-87, 88]\n", isa, rel);
      CHECK(rel < 2e-7);
      // Softmax-like use: every length (blocks of 32 plus a tail), a shift, the sum, in place,
      // and a guard past n.
      const float guard = -7.0f;
      int bad_values = 0, bad_sums = 0, overwritten = 0;
      for (int64_t n = 0; n <= 97; ++n) {
        std::vector<float> v(n + 1, guard);
        double ref_sum = 0;
        for (int64_t i = 0; i < n; ++i) {
          v[i] = static_cast<float>(i % 13) * 0.7f - 3.0f;
          ref_sum += std::exp(static_cast<double>(v[i]) - 2.5);
        }
        std::vector<float> ref(v.begin(), v.end());
        const float s = exp_shifted_sum(v.data(), 2.5f, v.data(), n);  // in place
        for (int64_t i = 0; i < n; ++i) {
          const double r = std::exp(static_cast<double>(ref[i]) - 2.5);
          bad_values += std::fabs(v[i] - r) > 4e-7 * r;
        }
        bad_sums += std::fabs(s - ref_sum) > 1e-6 * (ref_sum + 1);
        overwritten += v[n] != guard;
      }
      CHECK(bad_values == 0);
      CHECK(bad_sums == 0);
      CHECK(overwritten == 0);
    });
  }
}
