// Synthetic data: a Gaussian mixture with one component per class.
#pragma once
#include "data/dataset.h"

namespace lethe::data {

struct MixtureOptions {
  int64_t classes = 4;      // K
  int64_t dims = 2;         // D
  int64_t samples = 2000;   // N, train + test
  double separation = 3.0;  // class centres ~ N(0, separation^2 I); samples ~ N(centre, I)
  double test_fraction = 0.2;
};

// f32 [N,D] features, labels cycling 0..K-1 (balanced); the last test_fraction of the samples
// form the test set (samples are i.i.d., so this is a random split). Deterministic by seed.
DataSplit make_mixture(const MixtureOptions& opt, uint64_t seed);

}  // namespace lethe::data
