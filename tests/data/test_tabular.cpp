// Tabular CSV: german_credit and hmda (copied from ../shared/data), encoding and split rules.
#include <doctest/doctest.h>

#include <cmath>

#include "data/spec.h"
#include "data/tabular.h"
#include "tests/data/util.h"

using namespace lethe;
using namespace lethe::data;
using namespace lethe::data::test;

namespace {
const std::string kGerman = LETHE_TEST_DATA_DIR "/data/german_credit.csv";
const std::string kHmda = LETHE_TEST_DATA_DIR "/data/hmda.csv";
}  // namespace

TEST_SUITE("data") {
  TEST_CASE("tabular: german_credit with a protected attribute") {
    DataSplit s = load_dataset("csv:" + kGerman + ":label=Class:protected=ForeignWorker", 0);
    // 62 columns, all numeric but the label: 61 standardized features.
    CHECK(s.train.images.shape() == Shape{800, 61});
    CHECK(s.test.images.shape() == Shape{200, 61});
    CHECK(s.train.class_names == std::vector<std::string>{"Bad", "Good"});
    // Stratified: 700 Good / 300 Bad keep their ratio in both parts.
    CHECK(s.train.class_counts() == std::vector<int64_t>{240, 560});
    CHECK(s.test.class_counts() == std::vector<int64_t>{60, 140});
    REQUIRE(s.train.has_protected());
    CHECK(s.train.protected_names.size() == 2);
    CHECK(s.train.feature_names.at(4) == "Age");
    // Train statistics: every non-constant feature has mean 0, std 1 on the train part.
    const float* x = s.train.images.data<float>();
    for (int j = 0; j < 61; ++j) {
      double m = 0, q = 0;
      for (int i = 0; i < 800; ++i) m += x[i * 61 + j];
      m /= 800;
      for (int i = 0; i < 800; ++i) q += (x[i * 61 + j] - m) * (x[i * 61 + j] - m);
      const double sd = std::sqrt(q / 800);
      CHECK(std::abs(m) < 1e-5);
      CHECK((std::abs(sd - 1) < 1e-4 || sd == 0));
    }
    // Deterministic for a seed; another seed splits differently.
    DataSplit again = load_dataset("csv:" + kGerman + ":label=Class", 0);
    CHECK(again.test.images.to_vector() == s.test.images.to_vector());
    DataSplit other = load_dataset("csv:" + kGerman + ":label=Class", 1);
    CHECK(other.test.images.to_vector() != s.test.images.to_vector());
  }

  TEST_CASE("tabular: hmda one-hot encodes yes/no columns") {
    DataSplit s = load_dataset("csv:" + kHmda + ":label=deny:protected=afam", 0);
    // 6 numeric columns + 7 yes/no columns one-hot (2 each).
    CHECK(s.train.images.size(1) == 6 + 7 * 2);
    CHECK(s.train.size() + s.test.size() == 2380);
    CHECK(s.train.class_names == std::vector<std::string>{"no", "yes"});
    CHECK(s.train.protected_names == std::vector<std::string>{"no", "yes"});
    int64_t afam = 0, deny = 0;
    for (const Dataset* d : {&s.train, &s.test}) {
      for (int64_t v : d->protected_attr.to_vector_i64()) afam += v;
      deny += d->class_counts()[1];
    }
    CHECK(afam == 339);
    CHECK(deny == 285);
    // One-hot pairs sum to one.
    const auto& names = s.train.feature_names;
    const auto it = std::find(names.begin(), names.end(), "afam=no");
    REQUIRE(it != names.end());
    const int64_t j = it - names.begin(), f = s.train.images.size(1);
    CHECK(names[static_cast<size_t>(j + 1)] == "afam=yes");
    const float* x = s.train.images.data<float>();
    for (int64_t i = 0; i < s.train.size(); ++i) CHECK(x[i * f + j] + x[i * f + j + 1] == 1.0f);
  }

  TEST_CASE("tabular: label column defaults and errors") {
    TempDir d("tab");
    write_text(d.file("a.csv"), "x,color,label\n1,red,0\n2,blue,1\n3,red,0\n4,,1\n5,red,1\n");
    DataSplit s = load_dataset("csv:" + d.file("a.csv") + ":test=0.4", 0);
    CHECK(s.train.num_classes == 2);
    CHECK(s.train.feature_names ==
          std::vector<std::string>{"x", "color=", "color=blue", "color=red"});
    write_text(d.file("b.csv"), "x,y\n1,a\n2,b\n");
    CHECK(load_dataset("csv:" + d.file("b.csv"), 0).train.class_names.size() == 2);  // last column

    std::string e = error_of([&] { load_dataset("csv:" + kGerman + ":label=Klass", 0); });
    CHECK(contains(e, "Klass"));
    CHECK(contains(e, kGerman));
    e = error_of([&] { load_dataset("csv:" + kGerman + ":protected=Sex", 0); });
    CHECK(contains(e, "Sex"));
    e = error_of([&] { load_dataset("csv:" + kGerman + ":lable=Class", 0); });
    CHECK(contains(e, "lable"));
    write_text(d.file("c.csv"), "x,label\n1,0\n2\n");
    e = error_of([&] { load_dataset("csv:" + d.file("c.csv"), 0); });
    CHECK(contains(e, d.file("c.csv") + ":3"));
    write_text(d.file("q.csv"), "x,label\n\"1,0\n");
    CHECK(contains(error_of([&] { load_dataset("csv:" + d.file("q.csv"), 0); }), "quote"));
  }
}
