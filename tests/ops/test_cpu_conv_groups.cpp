// The CPU convolution's paths (engine/backend/cpu/conv.cpp) at every image grouping: one image
// per thread (G = 1), groups with a shorter last group, the whole batch in one GEMM; and with
// Winograd on and off for the 3×3 stride-1 cases it takes (≥ 16 channels; pads 0, 1, 2, so the
// backward-data convolution runs at pads 2, 1, 0; and large enough for Winograd's per-thread
// chunks). Forward and both backward products against cpu_ref, on 1 and 2 threads (2 threads
// with several groups take the per-thread group path), with guard-framed buffers. The backend
// harness covers only the defaults.
#include <doctest/doctest.h>
#include <omp.h>

#include <string>

#include "engine/backend/cpu/cpu.h"
#include "engine/core/allocator.h"
#include "tests/support/isa.h"
#include "tests/support/run_op.h"

using namespace lethe;

namespace {

struct ConvCase {
  Shape x, w;
  int64_t stride, pad;
  bool bias;
};

ops::OpCase make_case(const ConvCase& s, uint64_t seed) {
  Tensor st = Tensor::from_vector({2}, {static_cast<float>(s.stride), static_cast<float>(s.pad)});
  Tensor b = s.bias ? Tensor::randn({s.w[0]}, seed + 2) : Tensor();
  return ops::OpCase{"conv",
                     {Tensor::randn(s.x, seed), Tensor::randn(s.w, seed + 1), b, st},
                     {true, true, s.bias, false}};
}

struct ColumnsGuard {
  ~ColumnsGuard() {
    set_cpu_conv_group_columns(0);
    set_cpu_conv_winograd(true);
  }
};

}  // namespace

TEST_SUITE("ops") {
  TEST_CASE("cpu conv2d matches cpu_ref at every image grouping") {
    const ops::OpInfo& op = ops::find_op("conv2d");
    ColumnsGuard restore;
    Allocator::instance().set_guard_mode(true);
    const int saved_threads = omp_get_max_threads();
    // Output pixels per image (OHW) in the comment; `columns` picks G = ceil(columns / OHW).
    const ConvCase cases[] = {
        {{5, 4, 6, 6}, {3, 4, 3, 3}, 1, 1, true},      // 3×3 pad 1, OHW 36
        {{5, 6, 4, 4}, {7, 6, 1, 1}, 1, 0, true},      // 1×1 stride 1 (no im2col), OHW 16
        {{5, 6, 7, 7}, {4, 6, 1, 1}, 2, 0, false},     // 1×1 stride 2, OHW 16
        {{3, 3, 9, 7}, {8, 3, 3, 3}, 2, 1, false},     // 3×3 stride 2, OHW 20
        {{3, 16, 6, 7}, {17, 16, 3, 3}, 1, 1, true},   // Winograd-eligible, OHW 42
        {{3, 16, 5, 5}, {16, 16, 3, 3}, 1, 0, false},  // Winograd, pad 0, OHW 9
        {{2, 17, 6, 6}, {16, 17, 3, 3}, 1, 2, true},   // Winograd, pad 2, OHW 64
        // Winograd with per-thread chunks (49 tiles per image, 3 images per cache-sized chunk:
        // chunks of 3 and 1 on 2 threads), OHW 196
        {{4, 16, 14, 14}, {16, 16, 3, 3}, 1, 1, false},
    };
    int checked = 0;
    uint64_t seed = 700;
    for (const ConvCase& s : cases) {
      ops::OpCase c = make_case(s, seed += 10);
      testing::OpRun ref = testing::run_op(op, c, "cpu_ref");
      const int64_t ohw = ref.y.size(2) * ref.y.size(3);
      // G = 1; G = 2 (groups 2, 2, 1 of N = 5, or 2, 1 of N = 3); G = N; on every ISA path.
      testing::for_each_isa([&](const char*) {
        for (int64_t columns : {int64_t(1), 2 * ohw, int64_t(1) << 30})
          for (bool winograd : {false, true})
            for (int threads : {1, 2}) {
              CAPTURE(winograd);
              set_cpu_conv_winograd(winograd);
              CAPTURE(shape_str(s.x));
              CAPTURE(shape_str(s.w));
              CAPTURE(columns);
              CAPTURE(threads);
              set_cpu_conv_group_columns(columns);
              omp_set_num_threads(threads);
              testing::OpRun got = testing::run_op(op, c, "cpu");
              REQUIRE(Allocator::instance().check_guards() == 0);
              REQUIRE(got.y.shape() == ref.y.shape());
              CHECK(testing::all_finite(got.y));
              CHECK(testing::rel_error(got.y, ref.y) <= 1e-4);
              for (size_t i = 0; i < 3; ++i) {
                CAPTURE(i);
                REQUIRE(got.grads[i].defined() == ref.grads[i].defined());
                if (ref.grads[i].defined())
                  CHECK(testing::rel_error(got.grads[i], ref.grads[i]) <= 1e-4);
              }
              ++checked;
            }
      });
    }
    omp_set_num_threads(saved_threads);
    Allocator::instance().set_guard_mode(false);
    CHECK(checked == 8 * 3 * 2 * 2 * testing::isa_paths());
  }

  TEST_CASE("cpu conv grouping knob: 0 restores the default") {
    set_cpu_conv_group_columns(5);
    CHECK(cpu_conv_group_columns() == 5);
    set_cpu_conv_group_columns(0);
    CHECK(cpu_conv_group_columns() == 256);
  }
}
