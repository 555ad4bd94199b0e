// Tabular CSV: german_credit and hmda (copied from ../shared/data), encoding and split rules.
#include <doctest/doctest.h>

#include <cmath>

#include "data/forget.h"
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
  TEST_CASE("tabular: protected=COL<T binarizes a numeric column") {
    TempDir d("tabt");
    write_text(d.file("a.csv"), "age,label\n20,0\n30,1\n24,0\n25,1\n60,0\n19,1\n");
    DataSplit s = load_dataset("csv:" + d.file("a.csv") + ":protected=age<25:test=0.01", 0);
    const Dataset& all = s.train;  // test=0.01 of 3 per class rounds to no test row
    REQUIRE(all.size() == 6);
    CHECK(all.protected_names == std::vector<std::string>{"age>=25", "age<25"});
    // Ages are standardized as a feature; the group code follows the raw value.
    std::vector<int64_t> g = all.protected_attr.to_vector_i64();
    std::vector<float> x = all.images.to_vector();
    int64_t young = 0;
    for (size_t i = 0; i < g.size(); ++i) young += g[i];
    CHECK(young == 3);  // 20, 24, 19
    for (size_t i = 0; i < g.size(); ++i)
      for (size_t j = 0; j < g.size(); ++j)
        if (x[i] < x[j]) CHECK(g[i] >= g[j]);  // younger never in the older group
  }

  TEST_CASE("forget spec group:G[:AMOUNT] picks rows of one protected group") {
    DataSplit s = load_dataset("csv:" + kGerman + ":label=Class:protected=Age<25", 0);
    const std::vector<int64_t> g = s.train.protected_attr.to_vector_i64();
    int64_t young = 0;
    for (int64_t v : g) young += v;
    ForgetSplit all = make_forget_split("group:Age<25", s.train, 0);
    CHECK(static_cast<int64_t>(all.forget.size()) == young);
    ForgetSplit some = make_forget_split("group:1:10", s.train, 3);
    REQUIRE(some.forget.size() == 10);
    for (int64_t i : some.forget) CHECK(g[static_cast<size_t>(i)] == 1);
    CHECK(make_forget_split("group:1:10", s.train, 3).forget == some.forget);  // seeded
    ForgetSplit half = make_forget_split("group:Age>=25:0.5", s.train, 0);
    CHECK(static_cast<int64_t>(half.forget.size()) ==
          static_cast<int64_t>(std::llround(0.5 * (s.train.size() - young))));
    CHECK(contains(error_of([&] { make_forget_split("group:old", s.train, 0); }), "Age<25"));
    CHECK(contains(error_of([&] { make_forget_split("group:2", s.train, 0); }), "out of range"));
    DataSplit plain = load_dataset("csv:" + kGerman + ":label=Class", 0);
    CHECK(contains(error_of([&] { make_forget_split("group:1", plain.train, 0); }),
                   "no protected attribute"));
  }

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
    // Age has 53 distinct values: not a group attribute, and the error says how to binarize it.
    e = error_of([&] { load_dataset("csv:" + kGerman + ":label=Class:protected=Age", 0); });
    CHECK(contains(e, "Age"));
    CHECK(contains(e, "53 distinct values"));
    CHECK(contains(e, "protected=Age<T"));
    e = error_of([&] { load_dataset("csv:" + kGerman + ":label=Class:protected=Age<x", 0); });
    CHECK(contains(e, "threshold"));
    write_text(d.file("g.csv"), "x,g,label\n1,red,0\n2,red,1\n");
    CHECK(contains(error_of([&] { load_dataset("csv:" + d.file("g.csv") + ":protected=g", 0); }),
                   "1 distinct values"));
    e = error_of([&] { load_dataset("csv:" + kGerman + ":lable=Class", 0); });
    CHECK(contains(e, "lable"));
    write_text(d.file("c.csv"), "x,label\n1,0\n2\n");
    e = error_of([&] { load_dataset("csv:" + d.file("c.csv"), 0); });
    CHECK(contains(e, d.file("c.csv") + ":3"));
    write_text(d.file("q.csv"), "x,label\n\"1,0\n");
    CHECK(contains(error_of([&] { load_dataset("csv:" + d.file("q.csv"), 0); }), "quote"));
  }
}
