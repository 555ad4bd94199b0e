// Checks on what a training run reaches (accuracy, AUC, loss ratios): the value is printed with
// its threshold and margin so a log shows how far each learning test sits from failing, on
// whichever ISA path the host took. Thresholds are set at least 10% (relative) away from the
// values measured on both the AVX2 and AVX-512 paths (the test's comment states them).
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>

#include "kernels/cpu/gemm.h"

namespace lethe::testing {

inline void learning_report(const char* what, double value, const char* op, double threshold) {
  const double margin = value != 0 ? std::fabs(value - threshold) / std::fabs(value) : 0;
  std::printf("learning [%s] %s = %.4g (needs %s %.4g; margin %.0f%% of the value)\n",
              kernels::cpu::gemm_isa_name(kernels::cpu::gemm_isa()), what, value, op, threshold,
              100 * margin);
}

// value > threshold
inline void learning_above(const char* what, double value, double threshold) {
  learning_report(what, value, ">", threshold);
  CAPTURE(what);
  CHECK(value > threshold);
}

// value < threshold
inline void learning_below(const char* what, double value, double threshold) {
  learning_report(what, value, "<", threshold);
  CAPTURE(what);
  CHECK(value < threshold);
}

}  // namespace lethe::testing
