// The CPU batch and layer norm kernels (kernels/cpu/norm.h) on every ISA path this host has: the
// AVX2 copy of their bodies (norm_avx2.cpp, serving the AVX2 and AVX-512 paths) must compute the
// same bits as the baseline copy — same lanes, same order, no contracted FMAs. Values against a
// reference are the op harness's and the goldens' business; this pins the copies to each other.
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/norm.h"
#include "tests/support/isa.h"

namespace {

namespace cpu = lethe::kernels::cpu;

std::vector<float> random(size_t n, std::mt19937& rng, float offset = 0.f) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = offset + dist(rng);
  return v;
}

// Runs every kernel on fixed inputs (lane tails: S and D not multiples of 8 or 16; a channel far
// off zero) and returns all outputs.
std::vector<float> run_all() {
  std::vector<float> out;
  auto keep = [&](const std::vector<float>& v) { out.insert(out.end(), v.begin(), v.end()); };
  std::mt19937 rng(31);
  for (const int64_t S : {1, 7, 49, 784}) {
    const int64_t N = 3, C = 5;
    std::vector<float> x = random(N * C * S, rng), dy = random(N * C * S, rng);
    for (int64_t n = 0; n < N; ++n)  // channel 2 at 1e3 ± 1
      for (int64_t i = 0; i < S; ++i) x[(n * C + 2) * S + i] += 1000.f;
    const std::vector<float> w = random(C, rng, 1.f), b = random(C, rng);
    std::vector<float> y(x.size()), mean(C), var(C);
    cpu::batchnorm_forward_train(x.data(), w.data(), b.data(), y.data(), mean.data(), var.data(), N,
                                 C, S, 1e-5);
    keep(y), keep(mean), keep(var);
    cpu::batchnorm_forward_eval(x.data(), w.data(), b.data(), mean.data(), var.data(), y.data(), N,
                                C, S, 1e-5);
    keep(y);
    for (const bool training : {true, false}) {
      std::vector<float> dx(x.size()), dw(C), db(C);
      cpu::batchnorm_backward(dy.data(), x.data(), training ? w.data() : nullptr, mean.data(),
                              var.data(), N, C, S, 1e-5, training, dx.data(), dw.data(), db.data());
      keep(dx), keep(dw), keep(db);
    }
    {  // eval mode with frozen γ, β (attacks): only dx, which must equal the general path's
      std::vector<float> dx(x.size()), dx_all(x.size()), dw(C), db(C);
      cpu::batchnorm_backward(dy.data(), x.data(), w.data(), mean.data(), var.data(), N, C, S, 1e-5,
                              false, dx.data(), nullptr, nullptr);
      cpu::batchnorm_backward(dy.data(), x.data(), w.data(), mean.data(), var.data(), N, C, S, 1e-5,
                              false, dx_all.data(), dw.data(), db.data());
      for (size_t i = 0; i < dx.size(); ++i) REQUIRE(dx[i] == dx_all[i]);
      keep(dx);
    }
  }
  for (const int64_t D : {1, 13, 192}) {
    const int64_t R = 37;
    const std::vector<float> x = random(R * D, rng, 3.f), dy = random(R * D, rng);
    const std::vector<float> w = random(D, rng, 1.f), b = random(D, rng);
    std::vector<float> y(x.size()), mean(R), rstd(R), dx(x.size()), dw(D), db(D);
    cpu::layernorm_forward(x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(), R, D,
                           1e-5);
    cpu::layernorm_backward(dy.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(),
                            dw.data(), db.data(), R, D);
    keep(y), keep(mean), keep(rstd), keep(dx), keep(dw), keep(db);
  }
  return out;
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("cpu norm kernels: every ISA path computes the same bits") {
    std::vector<float> first;
    int paths = 0;
    lethe::testing::for_each_isa([&](const char* isa) {
      const std::vector<float> got = run_all();
      REQUIRE(!got.empty());
      if (paths++ == 0) {
        first = got;
        return;
      }
      CAPTURE(isa);
      int64_t differ = 0;
      for (size_t i = 0; i < got.size(); ++i)
        differ += std::memcmp(&got[i], &first[i], sizeof(float)) != 0;
      CHECK(differ == 0);
    });
    CHECK(paths == lethe::testing::isa_paths());
  }
}
