// Data SPEC parsing and the synthetic mixture.
#include <doctest/doctest.h>

#include "data/spec.h"
#include "tests/data/util.h"

using namespace lethe;
using namespace lethe::data;
using namespace lethe::data::test;

TEST_SUITE("data") {
  TEST_CASE("spec: synthetic mixture defaults, fields and determinism") {
    DataSplit s = load_dataset("synthetic:mixture", 0);
    CHECK(s.train.images.shape() == Shape{1600, 2});
    CHECK(s.test.size() == 400);
    CHECK(s.train.num_classes == 4);
    CHECK(s.train.class_counts() == std::vector<int64_t>(4, 400));
    DataSplit t = load_dataset("synthetic:mixture:3:7:100", 4);
    CHECK(t.train.images.shape() == Shape{80, 7});
    CHECK(t.train.num_classes == 3);
    CHECK(load_dataset("synthetic:mixture:3:7:100", 4).train.images.to_vector() ==
          t.train.images.to_vector());
    CHECK(load_dataset("synthetic:mixture:3:7:100", 5).train.images.to_vector() !=
          t.train.images.to_vector());
    // seed= in the spec fixes the data whatever the caller's seed.
    CHECK(load_dataset("synthetic:mixture:3:7:100:seed=4", 9).train.images.to_vector() ==
          t.train.images.to_vector());
    // Well separated classes: nearest-centre accuracy on the test set is high.
    DataSplit w = load_dataset("synthetic:mixture:4:8:2000:sep=4", 1);
    std::vector<double> c(32, 0.0);
    std::vector<int> cnt(4, 0);
    const float* x = w.train.images.data<float>();
    const int64_t* y = w.train.labels.data<int64_t>();
    for (int64_t i = 0; i < w.train.size(); ++i) {
      ++cnt[static_cast<size_t>(y[i])];
      for (int j = 0; j < 8; ++j) c[static_cast<size_t>(y[i] * 8 + j)] += x[i * 8 + j];
    }
    for (int k = 0; k < 32; ++k) c[static_cast<size_t>(k)] /= cnt[static_cast<size_t>(k / 8)];
    int right = 0;
    const float* xt = w.test.images.data<float>();
    for (int64_t i = 0; i < w.test.size(); ++i) {
      int best = 0;
      double bd = 1e30;
      for (int k = 0; k < 4; ++k) {
        double dd = 0;
        for (int j = 0; j < 8; ++j) {
          const double e = xt[i * 8 + j] - c[static_cast<size_t>(k * 8 + j)];
          dd += e * e;
        }
        if (dd < bd) bd = dd, best = k;
      }
      right += best == w.test.labels.data<int64_t>()[i];
    }
    CHECK(right > 0.9 * static_cast<double>(w.test.size()));
  }

  TEST_CASE("spec: unknown or malformed specs list the valid forms") {
    for (const char* bad :
         {"imagenet", "mnist", "cifar10", "synthetic:spiral", "synthetic:mixture:a",
          "synthetic:mixture:1", "csv", "folder:/x:size=0", "synthetic:mixture:sep=-1"}) {
      CAPTURE(bad);
      const std::string e = error_of([&] { load_dataset(bad, 0); });
      CHECK(!e.empty());
      CHECK(contains(e, bad == std::string("synthetic:mixture:1") ? "K=" : bad));
    }
    CHECK(contains(error_of([&] { load_dataset("imagenet:/data", 0); }), "fashion-mnist"));
    CHECK(contains(error_of([&] { load_dataset("mnist:/no/such/dir", 0); }), "/no/such/dir"));
  }
}
