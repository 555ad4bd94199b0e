// Cross-entropy with label smoothing on logits near 1e4: rows at 1e4 + U(−4, 4) (one of them
// with its target far above the rest), next to ordinary N(0, 2²) rows. The naive form
// −(1−s)·(x_t − lse) − s/C·(Σx − C·lse) carries lse's rounding (ulp(1e4) ≈ 1e-3) into x_t − lse
// and subtracts two numbers of size C·1e4 in the smoothing term. The shared row formula of
// kernels/common/softmax.h works relative to the row's max and does not. Every backend (cpu on
// each ISA path, the CUDA kernels on the emulator, cpu_ref in float32) is compared with cpu_ref
// run in float64 on the same float32 inputs.
//
// Tolerance: 5e-6 relative to the tensor's largest value. After the shift by the row max every
// quantity is of the size of the loss (≤ ~10) and is a sum of ≤ C terms each rounded once
// (ε ≈ 6e-8): Σexp at C = 1500 carries a random-walk error of ~√C·ε ≈ 2.3e-6 into log Σexp at
// worst, divided by the loss's size. Measured on this host: worst 1.6e-7 (loss) and 1.2e-7 (dx);
// the previous CPU kernel (the naive form) gave loss errors 2.7e-5 (C = 1500, s = 0) to 9.0e-5
// (C = 10, s = 0.1), 5–18× above the tolerance.
#include <doctest/doctest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/ops/ops.h"
#include "tests/support/isa.h"
#include "tests/support/run_op.h"

using namespace lethe;

namespace {

struct CeRun {
  Tensor loss, dx;
};

CeRun run_ce(const std::string& backend, DType dt, const Tensor& x0, const Tensor& t,
             const Tensor& dloss, double smoothing) {
  BackendGuard guard(backend);
  Tensor x = x0.to(dt);
  x.set_requires_grad(true);
  Tensor loss = ops::cross_entropy(x, t, ops::Reduction::None, smoothing);
  loss.backward(dloss.to(dt));
  return {loss.detach().clone(), x.grad()};
}

constexpr double kTol = 5e-6;

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("cross-entropy with label smoothing stays exact for logits at 1e4") {
    // C = 10: a warp per row in the CUDA kernels; C = 1500: a block per row.
    for (int64_t C : {10, 1500}) {
      CAPTURE(C);
      const int64_t N = 6;
      std::mt19937 rng(static_cast<uint32_t>(C));
      std::uniform_real_distribution<float> u(-4.f, 4.f);
      std::normal_distribution<float> g(0.f, 2.f);
      std::vector<float> xv(N * C);
      std::vector<int64_t> tv(N);
      for (int64_t n = 0; n < N; ++n) {
        tv[n] = (n * 7 + 3) % C;
        for (int64_t c = 0; c < C; ++c) xv[n * C + c] = n % 3 == 2 ? g(rng) : 1e4f + u(rng);
        if (n % 3 == 1) xv[n * C + tv[n]] = 1e4f + 6.f;  // a confident, correct row
      }
      const Tensor x = Tensor::from_vector({N, C}, xv);
      const Tensor t = Tensor::from_vector_i64({N}, tv);
      const Tensor dloss = Tensor::uniform({N}, 0.5, 1.5, 17);
      for (double smoothing : {0.1, 0.0}) {
        CAPTURE(smoothing);
        const CeRun truth = run_ce("cpu_ref", DType::F64, x, t, dloss, smoothing);
        int runs = 0;
        testing::for_each_backend([&](const std::string& be, const std::string& label) {
          CAPTURE(label);
          const CeRun got = run_ce(be, DType::F32, x, t, dloss, smoothing);
          const double e_loss = testing::rel_error(got.loss, truth.loss);
          const double e_dx = testing::rel_error(got.dx, truth.dx);
          std::printf("cross-entropy C=%-4lld s=%.1f at 1e4  %-12s loss %.1e dx %.1e\n",
                      static_cast<long long>(C), smoothing, label.c_str(), e_loss, e_dx);
          CHECK(e_loss <= kTol);
          CHECK(e_dx <= kTol);
          ++runs;
        });
        CHECK(runs >= 2);
      }
    }
  }
}
