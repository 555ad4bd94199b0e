// Seeded test inputs: n floats uniform in [lo, hi).
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace lethe::testing {

inline std::vector<float> uniform(size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

}  // namespace lethe::testing
