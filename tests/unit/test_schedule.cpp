// Learning-rate schedules against PyTorch's closed forms (formulas in the comments, plus a few
// literal values printed by PyTorch's schedulers), warmup, and the command-line parser.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "engine/core/error.h"
#include "engine/optim/schedule.h"

using lethe::optim::LrSchedule;

TEST_SUITE("unit") {
  TEST_CASE("schedule: constant and StepLR") {
    LrSchedule c = LrSchedule::constant(0.05);
    for (int64_t e : {0, 1, 17, 1000}) CHECK(c.lr_at(e) == 0.05);
    // StepLR: base · gamma^floor(e / step_size).
    LrSchedule s = LrSchedule::step(0.1, 30, 0.1);
    for (int64_t e : {0, 1, 29, 30, 59, 60, 89, 90, 200})
      CHECK(s.lr_at(e) == doctest::Approx(0.1 * std::pow(0.1, e / 30)).epsilon(1e-12));
    CHECK(s.lr_at(29) == doctest::Approx(0.1).epsilon(1e-12));
    CHECK(s.lr_at(65) == doctest::Approx(0.001).epsilon(1e-12));
  }

  TEST_CASE("schedule: MultiStepLR counts milestones <= epoch") {
    // MultiStepLR: base · gamma^bisect_right(sorted milestones, e).
    LrSchedule m = LrSchedule::multistep(0.1, {150, 100}, 0.1);
    CHECK(m.lr_at(0) == doctest::Approx(0.1).epsilon(1e-12));
    CHECK(m.lr_at(99) == doctest::Approx(0.1).epsilon(1e-12));
    CHECK(m.lr_at(100) == doctest::Approx(0.01).epsilon(1e-12));
    CHECK(m.lr_at(149) == doctest::Approx(0.01).epsilon(1e-12));
    CHECK(m.lr_at(150) == doctest::Approx(0.001).epsilon(1e-12));
    CHECK(m.lr_at(10000) == doctest::Approx(0.001).epsilon(1e-12));
    // A repeated milestone applies gamma twice, as PyTorch's Counter does.
    LrSchedule d = LrSchedule::multistep(1.0, {3, 3}, 0.5);
    CHECK(d.lr_at(2) == 1.0);
    CHECK(d.lr_at(3) == doctest::Approx(0.25));
  }

  TEST_CASE("schedule: CosineAnnealingLR closed form") {
    // eta_min + (base − eta_min)·(1 + cos(π e / T_max)) / 2.
    const double base = 0.1, eta = 0.001;
    const int64_t T = 200;
    LrSchedule c = LrSchedule::cosine(base, T, eta);
    for (int64_t e : {0, 1, 7, 50, 99, 100, 150, 199, 200}) {
      double want = eta + (base - eta) * (1 + std::cos(std::numbers::pi * e / T)) / 2;
      CAPTURE(e);
      CHECK(c.lr_at(e) == doctest::Approx(want).epsilon(1e-12));
    }
    // Literal values (torch.optim.lr_scheduler.CosineAnnealingLR, lr 0.1, T_max 10, eta_min 0).
    LrSchedule c10 = LrSchedule::cosine(0.1, 10);
    CHECK(c10.lr_at(0) == doctest::Approx(0.1).epsilon(1e-12));
    CHECK(c10.lr_at(3) == doctest::Approx(0.07938926261462367).epsilon(1e-12));
    CHECK(c10.lr_at(5) == doctest::Approx(0.05).epsilon(1e-12));
    CHECK(c10.lr_at(9) == doctest::Approx(0.0024471741852423235).epsilon(1e-10));
    CHECK(c10.lr_at(10) == doctest::Approx(0.0).epsilon(1e-12));
  }

  TEST_CASE("schedule: linear warmup then the wrapped schedule from its start") {
    // SequentialLR([LinearLR(start_factor=0.1, total_iters=5), CosineAnnealingLR(T_max=20)], [5]):
    // base·(0.1 + 0.9·e/5) for e < 5, then cosine(e − 5).
    LrSchedule w = LrSchedule::cosine(0.2, 20).with_warmup(5, 0.1);
    for (int64_t e = 0; e < 5; ++e)
      CHECK(w.lr_at(e) == doctest::Approx(0.2 * (0.1 + 0.9 * e / 5.0)).epsilon(1e-12));
    CHECK(w.lr_at(0) == doctest::Approx(0.02).epsilon(1e-12));
    CHECK(w.lr_at(4) == doctest::Approx(0.164).epsilon(1e-12));
    for (int64_t e = 5; e <= 25; ++e)
      CHECK(w.lr_at(e) == doctest::Approx(LrSchedule::cosine(0.2, 20).lr_at(e - 5)).epsilon(1e-12));
    CHECK(w.lr_at(15) == doctest::Approx(0.1).epsilon(1e-12));
    LrSchedule ws = LrSchedule::step(0.1, 2, 0.5).with_warmup(3);  // LinearLR default 1/3
    CHECK(ws.lr_at(0) == doctest::Approx(0.1 / 3).epsilon(1e-12));
    CHECK(ws.lr_at(3) == doctest::Approx(0.1).epsilon(1e-12));
    CHECK(ws.lr_at(5) == doctest::Approx(0.05).epsilon(1e-12));
    CHECK(LrSchedule::constant(0.1).with_warmup(0).lr_at(0) == 0.1);
  }

  TEST_CASE("schedule: parsing the command-line forms") {
    CHECK(LrSchedule::parse("cosine", 0.1, 50).lr_at(25) == doctest::Approx(0.05).epsilon(1e-12));
    CHECK(LrSchedule::parse("cosine:0.01", 0.1, 50).lr_at(50) ==
          doctest::Approx(0.01).epsilon(1e-12));
    CHECK(LrSchedule::parse("cosine", 0.1, 50, 10).lr_at(30) ==
          doctest::Approx(0.05).epsilon(1e-12));  // T_max = 40 after 10 warmup epochs
    CHECK(LrSchedule::parse("step:10:0.5", 0.1, 50).lr_at(25) ==
          doctest::Approx(0.025).epsilon(1e-12));
    CHECK(LrSchedule::parse("multistep:20,40", 0.1, 50).lr_at(45) ==
          doctest::Approx(0.001).epsilon(1e-12));
    CHECK(LrSchedule::parse("multistep:20,40:0.2", 0.1, 50).lr_at(30) ==
          doctest::Approx(0.02).epsilon(1e-12));
    CHECK(LrSchedule::parse("constant", 0.3, 5).lr_at(4) == 0.3);
    for (const char* bad : {"", "cosin", "step:10", "step:x:0.1", "multistep:", "multistep:5,a",
                            "step:0:0.1", "cosine:abc"}) {
      CAPTURE(bad);
      CHECK_THROWS_AS(LrSchedule::parse(bad, 0.1, 10), lethe::Error);
    }
    CHECK_THROWS_AS(LrSchedule::cosine(0.1, 10).lr_at(-1), lethe::Error);
  }
}
