// Deterministic randomness for data/: stream keys derived from (seed, purpose, epoch) and
// Philox-based draws, so splits, shuffles and augmentations depend on the seed only.
#pragma once
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "data/random_streams.h"
#include "kernels/common/philox.h"

namespace lethe::data {

// splitmix64 finalizer: spreads nearby seeds/epochs into unrelated Philox keys.
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// A key for one use of randomness; `stream` separates purposes (data/random_streams.h).
inline uint64_t stream_key(uint64_t seed, uint64_t stream, uint64_t epoch = 0) {
  return mix64(mix64(mix64(seed) ^ stream) ^ epoch);
}

// 64 random bits for counter `ctr` under `key`.
inline uint64_t bits64(uint64_t key, uint64_t ctr) {
  rng::Philox4 r = rng::philox4x32(ctr, key);
  return (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
}

// Uniform integer in [0, n) (multiply-shift; bias below 2^-40 for any realistic n).
inline uint64_t uniform_below(uint64_t key, uint64_t ctr, uint64_t n) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(bits64(key, ctr)) * n) >> 64);
}

// Fisher-Yates shuffle in place; draw i uses counter i, so the result depends on the key alone.
template <class T>
void shuffle_with_key(std::vector<T>& v, uint64_t key) {
  for (size_t i = v.size(); i > 1; --i) {
    size_t j = uniform_below(key, i - 1, i);
    std::swap(v[i - 1], v[j]);
  }
}

// k members of `rows` chosen by the shuffle under `key`, in ascending order; `rows` unchanged
// when k <= 0 or k >= rows.size().
inline std::vector<int64_t> choose_sorted(std::vector<int64_t> rows, int64_t k, uint64_t key) {
  if (k <= 0 || k >= static_cast<int64_t>(rows.size())) return rows;
  shuffle_with_key(rows, key);
  rows.resize(static_cast<size_t>(k));
  std::sort(rows.begin(), rows.end());
  return rows;
}

inline std::vector<int64_t> permutation(int64_t n, uint64_t key) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), int64_t{0});
  shuffle_with_key(p, key);
  return p;
}

}  // namespace lethe::data
