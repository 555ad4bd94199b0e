// The backend harness (after ggml's test-backend-ops): every registry op × every backend,
// forward and backward, against cpu_ref, with sentinel-framed buffers and NaN/Inf checks.
// Prints the op × backend table it covered.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "engine/core/allocator.h"
#include "kernels/emu/emu.h"
#include "tests/support/isa.h"
#include "tests/support/run_op.h"

using namespace lethe;

namespace {
// f32 kernels against a double-accumulating oracle: differences come from float rounding
// (summation order, float exp/erf) and stay around 1e-6; 1e-4 leaves margin without hiding bugs.
constexpr double kFwdTol = 1e-4;
constexpr double kBwdTol = 1e-4;
}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("every op on every backend matches cpu_ref") {
    Allocator::instance().set_guard_mode(true);
    std::printf("%-24s %-10s %6s %12s %12s\n", "op", "backend", "cases", "max fwd err",
                "max bwd err");
    int covered = 0;
    for (const ops::OpInfo& op : ops::op_registry()) {
      std::vector<ops::OpCase> cases = op.cases();
      for (const std::string& be : backend_names()) {
        if (be == "cpu_ref") continue;
        // The cpu backend once per ISA path (its GEMM and vmath differ by path).
        auto check_backend = [&](const std::string& label) {
          double worst_f = 0, worst_b = 0;
          for (const ops::OpCase& c : cases) {
            CAPTURE(op.name);
            CAPTURE(label);
            CAPTURE(c.label);
            testing::OpRun ref = testing::run_op(op, c, "cpu_ref");
            testing::OpRun got = testing::run_op(op, c, be);
            REQUIRE(Allocator::instance().check_guards() == 0);
            REQUIRE(got.y.shape() == ref.y.shape());
            CHECK(testing::all_finite(got.y));
            double ef = testing::rel_error(got.y, ref.y);
            CHECK(ef <= kFwdTol);
            worst_f = std::max(worst_f, ef);
            for (size_t i = 0; i < ref.grads.size(); ++i) {
              CAPTURE(i);
              REQUIRE(ref.grads[i].defined() == got.grads[i].defined());
              if (!ref.grads[i].defined()) continue;
              CHECK(testing::all_finite(got.grads[i]));
              double eb = testing::rel_error(got.grads[i], ref.grads[i]);
              CHECK(eb <= kBwdTol);
              worst_b = std::max(worst_b, eb);
            }
            for (size_t i = 0; i < ref.mutated.size(); ++i)
              if (ref.mutated[i].defined() && is_floating(ref.mutated[i].dtype()))
                CHECK(testing::rel_error(got.mutated[i], ref.mutated[i]) <= kFwdTol);
          }
          std::printf("%-24s %-10s %6zu %12.2e %12.2e\n", op.name.c_str(), label.c_str(),
                      cases.size(), worst_f, worst_b);
        };
        if (be == "cpu")
          testing::for_each_isa([&](const char* isa) { check_backend("cpu/" + std::string(isa)); });
        else
          check_backend(be);
        ++covered;
      }
    }
    Allocator::instance().set_guard_mode(false);
    std::printf("harness: %d op x backend pairs against cpu_ref\n", covered);
    CHECK(covered >= static_cast<int>(ops::op_registry().size()));
  }

  TEST_CASE("dropout draws the same mask on every backend") {
    const ops::OpInfo& op = ops::find_op("dropout");
    ops::OpCase c = op.cases()[0];
    testing::OpRun a = testing::run_op(op, c, "cpu_ref");
    testing::OpRun b = testing::run_op(op, c, "cpu");
    std::vector<float> ya = a.y.to_vector(), yb = b.y.to_vector();
    int zeros = 0;
    for (size_t i = 0; i < ya.size(); ++i) {
      CHECK((ya[i] == 0.f) == (yb[i] == 0.f));
      zeros += ya[i] == 0.f;
    }
    // p = 0.3 over 132 elements: a fair mask drops between 20 and 60.
    CHECK(zeros > 20);
    CHECK(zeros < 60);
  }

  // The table above ran emu under the schedule of the environment (in-order by default); a kernel
  // that is right only for one thread order (a missing barrier, a read of a neighbour's result)
  // fails under another.
  TEST_CASE("every op on emu matches cpu_ref under the reverse and random schedules") {
    for (emu::ScheduleChoice sched : {emu::ScheduleChoice{emu::Schedule::Reverse, 0},
                                      emu::ScheduleChoice{emu::Schedule::Random, 11}}) {
      emu::ScheduleGuard guard(sched);
      const uint64_t launches_before = emu::launch_stats().launches;
      int pairs = 0;
      for (const ops::OpInfo& op : ops::op_registry()) {
        for (const ops::OpCase& c : op.cases()) {
          CAPTURE(op.name);
          CAPTURE(c.label);
          CAPTURE(emu::schedule_name(sched));
          testing::OpRun ref = testing::run_op(op, c, "cpu_ref");
          testing::OpRun got = testing::run_op(op, c, "emu");
          REQUIRE(got.y.shape() == ref.y.shape());
          CHECK(testing::rel_error(got.y, ref.y) <= kFwdTol);
          for (size_t i = 0; i < ref.grads.size(); ++i)
            if (ref.grads[i].defined())
              CHECK(testing::rel_error(got.grads[i], ref.grads[i]) <= kBwdTol);
        }
        ++pairs;
      }
      CHECK(pairs == static_cast<int>(ops::op_registry().size()));
      // The emu backend ran kernels (no silent host fallback): at least one launch per op.
      CHECK(emu::launch_stats().launches - launches_before >= static_cast<uint64_t>(pairs));
    }
  }
}
