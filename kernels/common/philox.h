// Philox4x32-10 counter-based RNG (Salmon et al., SC'11). Stateless: the same (seed, counter)
// gives the same numbers on the CPU and in a CUDA thread, so dropout masks and random fills
// agree across backends regardless of how work is split.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.h"

namespace lethe::rng {

struct Philox4 {
  uint32_t v[4];
};

LETHE_HD inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// Four 32-bit random words for counter `ctr` under key `seed`.
LETHE_HD inline Philox4 philox4x32(uint64_t ctr, uint64_t seed) {
  uint32_t c0 = static_cast<uint32_t>(ctr), c1 = static_cast<uint32_t>(ctr >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 24 random bits (exactly representable in float).
LETHE_HD inline float u01(uint32_t x) {
  return static_cast<float>(x >> 8) * (1.0f / 16777216.0f);
}

// The i-th uniform of the stream `seed`: element i uses word i%4 of counter i/4.
LETHE_HD inline float uniform_at(uint64_t seed, uint64_t i) {
  Philox4 r = philox4x32(i / 4, seed);
  return u01(r.v[i % 4]);
}

// The i-th standard normal of the stream `seed` (Box-Muller on the counter's word pairs).
LETHE_HD inline double normal_at(uint64_t seed, uint64_t i) {
  Philox4 r = philox4x32(i / 2, seed ^ 0x5DEECE66DULL);
  int k = static_cast<int>(i % 2);
  double u1 = (static_cast<double>(r.v[0]) + 1.0) / 4294967297.0;
  double u2 = static_cast<double>(r.v[1]) / 4294967296.0;
  double rad = std::sqrt(-2.0 * std::log(u1));
  return k == 0 ? rad * std::cos(6.283185307179586 * u2) : rad * std::sin(6.283185307179586 * u2);
}

}  // namespace lethe::rng
