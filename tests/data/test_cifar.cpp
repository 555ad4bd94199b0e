// CIFAR-10/100 binary readers on files written here: values, class names, rejection rules.
#include <doctest/doctest.h>

#include <filesystem>

#include "data/cifar.h"
#include "data/spec.h"
#include "tests/data/util.h"

using namespace lethe;
using namespace lethe::data;
using namespace lethe::data::test;

namespace {

// n records; record i has labels `labels(i)` and pixels (i + j) mod 251.
std::vector<uint8_t> records(int n, const std::vector<std::vector<uint8_t>>& labels) {
  std::vector<uint8_t> b;
  for (int i = 0; i < n; ++i) {
    b.insert(b.end(), labels[static_cast<size_t>(i)].begin(), labels[static_cast<size_t>(i)].end());
    for (int j = 0; j < 3072; ++j) b.push_back(static_cast<uint8_t>((i + j) % 251));
  }
  return b;
}

void check_pixels(const Dataset& d, int first_record) {
  const uint8_t* x = d.images.data<uint8_t>();
  for (int64_t i = 0; i < d.size(); ++i) {
    for (int j = 0; j < 3072; j += 97) {
      REQUIRE(x[i * 3072 + j] == static_cast<uint8_t>((i + first_record + j) % 251));
    }
  }
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("cifar10: batches read back, concatenated in order, with class names") {
    TempDir d("c10");
    for (int b = 1; b <= 5; ++b) {
      std::vector<std::vector<uint8_t>> l = {{static_cast<uint8_t>(b)}, {9}};
      write_bytes(d.file(lethe::detail::concat("data_batch_", b, ".bin")), records(2, l));
    }
    write_bytes(d.file("test_batch.bin"), records(3, {{0}, {1}, {2}}));
    DataSplit s = load_dataset("cifar10:" + d.path.string(), 0);
    CHECK(s.train.images.shape() == Shape{10, 3, 32, 32});
    CHECK(s.train.labels.to_vector_i64() == std::vector<int64_t>{1, 9, 2, 9, 3, 9, 4, 9, 5, 9});
    CHECK(s.test.labels.to_vector_i64() == std::vector<int64_t>{0, 1, 2});
    check_pixels(s.test, 0);
    CHECK(s.train.class_names.at(0) == "airplane");
    // batches.meta.txt overrides the built-in names.
    std::string meta;
    for (int c = 0; c < 10; ++c) meta += lethe::detail::concat("k", c, "\n");
    write_text(d.file("batches.meta.txt"), meta + "\n");
    s = load_cifar10(d.path.string());
    CHECK(s.train.class_names.at(3) == "k3");
    CHECK(s.test.class_names.size() == 10);
  }

  TEST_CASE("cifar10: rejection rules name the file") {
    TempDir d("c10bad");
    const std::string p = d.file("test_batch.bin");
    std::vector<uint8_t> b = records(2, {{1}, {2}});
    b.pop_back();
    write_bytes(p, b);
    std::string e = error_of([&] { read_cifar10_file(p); });
    CHECK(contains(e, p));
    CHECK(contains(e, "multiple"));
    write_bytes(p, records(2, {{1}, {10}}));
    e = error_of([&] { read_cifar10_file(p); });
    CHECK(contains(e, p));
    CHECK(contains(e, "label 10"));
    CHECK(contains(e, "record 1"));
    write_bytes(p, {});
    CHECK(contains(error_of([&] { read_cifar10_file(p); }), p));
    // A missing training batch.
    write_bytes(p, records(1, {{1}}));
    e = error_of([&] { load_cifar10(d.path.string()); });
    CHECK(contains(e, "data_batch_1.bin"));
    CHECK(contains(error_of([&] { load_cifar10(d.file("nodir")); }), "nodir"));
  }

  TEST_CASE("cifar100: fine labels, the cifar-100-binary subfolder, names") {
    TempDir d("c100");
    const std::filesystem::path sub = d.path / "cifar-100-binary";
    std::filesystem::create_directories(sub);
    write_bytes((sub / "train.bin").string(), records(3, {{19, 99}, {0, 42}, {3, 0}}));
    write_bytes((sub / "test.bin").string(), records(1, {{5, 7}}));
    std::string names;
    for (int c = 0; c < 100; ++c) names += lethe::detail::concat("f", c, "\n");
    write_text((sub / "fine_label_names.txt").string(), names);
    DataSplit s = load_dataset("cifar100:" + d.path.string(), 0);
    CHECK(s.train.num_classes == 100);
    CHECK(s.train.labels.to_vector_i64() == std::vector<int64_t>{99, 42, 0});
    CHECK(s.test.labels.to_vector_i64() == std::vector<int64_t>{7});
    check_pixels(s.train, 0);
    CHECK(s.train.class_names.at(42) == "f42");

    // Fine label 100 is out of range; a CIFAR-10 file has the wrong record size.
    const std::string p = (sub / "test.bin").string();
    write_bytes(p, records(2, {{5, 7}, {1, 100}}));
    std::string e = error_of([&] { read_cifar100_file(p); });
    CHECK(contains(e, p));
    CHECK(contains(e, "label 100"));
    write_bytes(p, records(2, {{5}, {1}}));
    CHECK(contains(error_of([&] { read_cifar100_file(p); }), "3074"));
  }
}
