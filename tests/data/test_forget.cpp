// Forget specs: determinism, disjoint cover, class restriction, index files.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "data/forget.h"
#include "data/synthetic.h"
#include "tests/data/util.h"

using namespace lethe;
using namespace lethe::data;
using namespace lethe::data::test;

namespace {

Dataset labelled(int64_t n, int64_t k) {
  Dataset d;
  d.images = Tensor::zeros({n, 2});
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) y[static_cast<size_t>(i)] = (i * 7) % k;
  d.labels = Tensor::from_vector_i64({n}, y);
  d.num_classes = k;
  for (int64_t c = 0; c < k; ++c) d.class_names.push_back(lethe::detail::concat("k", c));
  d.name = "toy";
  return d;
}

void check_cover(const ForgetSplit& s, int64_t n) {
  CHECK(std::is_sorted(s.forget.begin(), s.forget.end()));
  CHECK(std::is_sorted(s.retain.begin(), s.retain.end()));
  std::vector<int64_t> all = s.forget;
  all.insert(all.end(), s.retain.begin(), s.retain.end());
  std::sort(all.begin(), all.end());
  REQUIRE(static_cast<int64_t>(all.size()) == n);
  for (int64_t i = 0; i < n; ++i) CHECK(all[static_cast<size_t>(i)] == i);
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("forget: random fraction and count") {
    const Dataset d = labelled(1000, 10);
    ForgetSplit a = make_forget_split("random:0.1", d, 5);
    CHECK(a.forget.size() == 100);
    check_cover(a, 1000);
    CHECK(make_forget_split("random:0.1", d, 5).forget == a.forget);
    CHECK(make_forget_split("random:0.1", d, 6).forget != a.forget);
    ForgetSplit b = make_forget_split("random:500", d, 5);
    CHECK(b.forget.size() == 500);
    check_cover(b, 1000);
    CHECK(make_forget_split("random:1.0", d, 0).retain.empty());
    CHECK(make_forget_split("random:1", d, 0).forget.size() == 1);
  }

  TEST_CASE("forget: class specs take only that class") {
    const Dataset d = labelled(1000, 10);
    ForgetSplit a = make_forget_split("class:3", d, 0);
    CHECK(a.forget.size() == 100);
    for (int64_t i : a.forget) CHECK(d.labels.data<int64_t>()[i] == 3);
    check_cover(a, 1000);
    CHECK(make_forget_split("class:k3", d, 0).forget == a.forget);
    ForgetSplit h = make_forget_split("class:3:0.5", d, 9);
    CHECK(h.forget.size() == 50);
    for (int64_t i : h.forget) CHECK(d.labels.data<int64_t>()[i] == 3);
    check_cover(h, 1000);
    CHECK(make_forget_split("class:3:0.5", d, 9).forget == h.forget);
    CHECK(make_forget_split("class:3:20", d, 9).forget.size() == 20);
  }

  TEST_CASE("forget: bad specs") {
    const Dataset d = labelled(100, 10);
    for (const char* bad :
         {"random:0", "random:1.5", "random:abc", "random:101", "random:", "class:10", "class:-1",
          "class:x", "class:3:2.0", "class:3:11", "everything", "file:"}) {
      std::string e = error_of([&] { make_forget_split(bad, d, 0); });
      CAPTURE(bad);
      CHECK(contains(e, bad));
    }
  }

  TEST_CASE("forget: index files round trip and errors name file and line") {
    TempDir t("forget");
    const Dataset d = labelled(50, 5);
    const std::string p = t.file("forget.txt");
    write_index_file(p, {4, 17, 2});
    CHECK(!std::filesystem::exists(p + ".tmp." + std::to_string(::getpid())));
    ForgetSplit s = make_forget_split("file:" + p, d, 0);
    CHECK(s.forget == std::vector<int64_t>{2, 4, 17});
    check_cover(s, 50);
    // Overwrite keeps the file whole.
    write_index_file(p, {1});
    CHECK(read_index_file(p, 50) == std::vector<int64_t>{1});

    write_text(p, "3\n\n7\nx9\n");
    std::string e = error_of([&] { make_forget_split("file:" + p, d, 0); });
    CHECK(contains(e, p + ":4"));
    write_text(p, "3\n50\n");
    e = error_of([&] { make_forget_split("file:" + p, d, 0); });
    CHECK(contains(e, p + ":2"));
    CHECK(contains(e, "out of range"));
    write_text(p, "3\n8\n 3 \n");
    e = error_of([&] { make_forget_split("file:" + p, d, 0); });
    CHECK(contains(e, p + ":3"));
    CHECK(contains(e, "line 1"));
    write_text(p, "-1\n");
    CHECK(contains(error_of([&] { read_index_file(p, 50); }), p + ":1"));
    CHECK(contains(error_of([&] { make_forget_split("file:" + t.file("none"), d, 0); }), "none"));
    // A directory where the file should go: the write fails and says where.
    CHECK(contains(error_of([&] { write_index_file(t.file("no/such/dir/f.txt"), {1}); }), "f.txt"));
  }
}
