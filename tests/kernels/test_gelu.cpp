// The CPU backend's vectorised GELU (kernels/cpu/gelu.h) against double-precision erf, on both
// dispatch paths: error bounds measured here are the ones gelu.h states.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "kernels/cpu/gelu.h"
#include "kernels/cpu/gemm.h"

using namespace lethe::kernels::cpu;

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
    const GemmIsa saved = gemm_isa();
    std::vector<GemmIsa> paths = {GemmIsa::Scalar};
    if (saved != GemmIsa::Scalar) paths.push_back(GemmIsa::Avx2);
    for (GemmIsa isa : paths) {
      CAPTURE(gemm_isa_name(isa));
      set_gemm_isa(isa);
      std::vector<float> y(x.size()), dx(x.size()), ones(x.size(), 1.0f);
      gelu_forward(x.data(), y.data(), static_cast<int64_t>(x.size()));
      gelu_backward(x.data(), ones.data(), dx.data(), static_cast<int64_t>(x.size()));
      const Errors ef = measure(x, y, gelu_ref), eb = measure(x, dx, gelu_grad_ref);
      std::printf(
          "gelu %-6s fwd: rel err %.2e (|x| <= 6), %.2e (tail), abs %.2e; bwd: abs err %.2e\n",
          gemm_isa_name(isa), ef.rel_core, ef.rel_tail, ef.abs, eb.abs);
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
    }
    set_gemm_isa(saved);
  }
}
