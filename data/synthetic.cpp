// Gaussian mixture generator (Philox normals, so every value depends on (seed, index) only).
#include "data/synthetic.h"

#include <cmath>

#include "data/random.h"

namespace lethe::data {

DataSplit make_mixture(const MixtureOptions& opt, uint64_t seed) {
  LETHE_CHECK(opt.classes >= 2 && opt.classes <= 100000,
              "synthetic:mixture: classes K=", opt.classes, " must be in [2, 100000]");
  LETHE_CHECK(opt.dims >= 1 && opt.dims <= 100000, "synthetic:mixture: dims D=", opt.dims,
              " must be in [1, 100000]");
  LETHE_CHECK(opt.samples >= 2 * opt.classes && opt.samples * opt.dims <= (int64_t{1} << 32),
              "synthetic:mixture: samples N=", opt.samples, " must be at least 2K and N*D <= 2^32");
  LETHE_CHECK(opt.separation > 0 && std::isfinite(opt.separation),
              "synthetic:mixture: separation must be positive");
  const uint64_t key = stream_key(seed, kSynthetic);
  const int64_t k = opt.classes, d = opt.dims, n = opt.samples;
  // Centres use the first k*d normals of the stream, samples the ones after.
  std::vector<double> centre(static_cast<size_t>(k * d));
  for (int64_t i = 0; i < k * d; ++i) {
    centre[static_cast<size_t>(i)] = opt.separation * rng::normal_at(key, static_cast<uint64_t>(i));
  }
  Dataset full;
  full.images = Tensor::empty({n, d}, DType::F32);
  full.labels = Tensor::empty({n}, DType::I64);
  float* x = full.images.data<float>();
  int64_t* y = full.labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    y[i] = i % k;
    for (int64_t j = 0; j < d; ++j) {
      const auto ctr = static_cast<uint64_t>(k * d + i * d + j);
      x[i * d + j] =
          static_cast<float>(centre[static_cast<size_t>(y[i] * d + j)] + rng::normal_at(key, ctr));
    }
  }
  full.num_classes = k;
  for (int64_t c = 0; c < k; ++c) full.class_names.push_back(lethe::detail::concat("c", c));
  for (int64_t j = 0; j < d; ++j) full.feature_names.push_back(lethe::detail::concat("x", j));
  full.name = "synthetic:mixture";
  const auto n_test =
      static_cast<int64_t>(std::llround(opt.test_fraction * static_cast<double>(n)));
  std::vector<int64_t> tr, te;
  for (int64_t i = 0; i < n; ++i) (i < n - n_test ? tr : te).push_back(i);
  return DataSplit{full.subset(tr), full.subset(te)};
}

}  // namespace lethe::data
