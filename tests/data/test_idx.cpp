// IDX reader: round trips (plain and gzip), every rejection rule, and the real Fashion-MNIST.
#include <doctest/doctest.h>
#include <zlib.h>

#include <filesystem>

#include "data/idx.h"
#include "data/spec.h"
#include "tests/data/util.h"

using namespace lethe;
using namespace lethe::data;
using namespace lethe::data::test;

namespace {

void put32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

std::vector<uint8_t> idx_images(uint32_t n, uint32_t h, uint32_t w, uint32_t magic = 0x803) {
  std::vector<uint8_t> b;
  put32(b, magic);
  put32(b, n);
  put32(b, h);
  put32(b, w);
  for (uint32_t i = 0; i < n * h * w; ++i) b.push_back(static_cast<uint8_t>(i * 7 + 3));
  return b;
}

std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels, uint32_t magic = 0x801) {
  std::vector<uint8_t> b;
  put32(b, magic);
  put32(b, static_cast<uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

void write_gz(const std::string& path, const std::vector<uint8_t>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, b.data(), static_cast<unsigned>(b.size())) == static_cast<int>(b.size()));
  gzclose(f);
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("idx: plain and gzip files read back exactly") {
    TempDir d("idx");
    const std::vector<uint8_t> img = idx_images(3, 4, 5);
    const std::vector<uint8_t> lab = idx_labels({0, 9, 4});
    write_bytes(d.file("i.idx"), img);
    write_bytes(d.file("l.idx"), lab);
    write_gz(d.file("i.idx.gz"), img);
    write_gz(d.file("l.idx.gz"), lab);
    for (const char* suffix : {"", ".gz"}) {
      Dataset ds = load_idx_pair(d.file(std::string("i.idx") + suffix),
                                 d.file(std::string("l.idx") + suffix), "t");
      REQUIRE(ds.images.shape() == Shape{3, 1, 4, 5});
      CHECK(ds.images.dtype() == DType::U8);
      const uint8_t* x = ds.images.data<uint8_t>();
      for (int i = 0; i < 60; ++i) CHECK(x[i] == static_cast<uint8_t>(i * 7 + 3));
      CHECK(ds.labels.to_vector_i64() == std::vector<int64_t>{0, 9, 4});
      CHECK(ds.size() == 3);
      CHECK(ds.channels() == 1);
      CHECK(ds.height() == 4);
      CHECK(ds.width() == 5);
    }
  }

  TEST_CASE("idx: corrupt files give an error naming the file") {
    TempDir d("idxbad");
    auto img_err = [&](const std::vector<uint8_t>& b, bool gz = false) {
      const std::string p = d.file(gz ? "bad.gz" : "bad");
      gz ? write_gz(p, b) : write_bytes(p, b);
      std::string e = error_of([&] { read_idx_images(p); });
      CHECK(contains(e, p));
      return e;
    };
    std::vector<uint8_t> img = idx_images(3, 4, 5);
    // Truncated payload, plain and gzip.
    std::vector<uint8_t> cut(img.begin(), img.end() - 7);
    CHECK(contains(img_err(cut), "truncated"));
    CHECK(contains(img_err(cut, true), "truncated"));
    // A gzip stream cut mid-way (not a short payload but a broken compressed file).
    {
      write_gz(d.file("full.gz"), idx_images(50, 28, 28));
      std::ifstream in(d.file("full.gz"), std::ios::binary);
      std::vector<uint8_t> gzb((std::istreambuf_iterator<char>(in)), {});
      gzb.resize(gzb.size() / 2);
      write_bytes(d.file("half.gz"), gzb);
      std::string e = error_of([&] { read_idx_images(d.file("half.gz")); });
      CHECK(contains(e, d.file("half.gz")));
      CHECK(contains(e, "truncated"));
    }
    // Trailing bytes.
    std::vector<uint8_t> extra = img;
    extra.push_back(1);
    CHECK(contains(img_err(extra), "beyond"));
    // Wrong magic, e.g. a label file given as images.
    CHECK(contains(img_err(idx_images(3, 4, 5, 0x801)), "magic"));
    // Header only partly present.
    CHECK(contains(img_err({0, 0, 8}), "header"));
    // Zero-sized images.
    CHECK(contains(img_err(idx_images(3, 0, 5)), "size"));
    // Missing file.
    CHECK(contains(error_of([&] { read_idx_images(d.file("nope")); }), d.file("nope")));

    // Labels: out of range names file and index; wrong magic; truncated.
    const std::string lp = d.file("lab");
    write_bytes(lp, idx_labels({1, 2, 10, 3}));
    std::string e = error_of([&] { read_idx_labels(lp); });
    CHECK(contains(e, lp));
    CHECK(contains(e, "index 2"));
    CHECK(contains(e, "label 10"));
    write_bytes(lp, idx_labels({1, 2}, 0x803));
    CHECK(contains(error_of([&] { read_idx_labels(lp); }), "magic"));
    std::vector<uint8_t> lab = idx_labels({1, 2, 3});
    lab.pop_back();
    write_bytes(lp, lab);
    e = error_of([&] { read_idx_labels(lp); });
    CHECK(contains(e, lp));
    CHECK(contains(e, "truncated"));

    // Image/label count mismatch.
    write_bytes(d.file("i4"), idx_images(4, 2, 2));
    write_bytes(d.file("l3"), idx_labels({0, 1, 2}));
    e = error_of([&] { load_idx_pair(d.file("i4"), d.file("l3"), "t"); });
    CHECK(contains(e, d.file("i4")));
    CHECK(contains(e, "4 images"));
  }

  TEST_CASE("idx: mnist:DIR finds the standard file names") {
    TempDir d("mnistdir");
    write_gz(d.file("train-images-idx3-ubyte.gz"), idx_images(6, 3, 3));
    write_gz(d.file("train-labels-idx1-ubyte.gz"), idx_labels({0, 1, 2, 3, 4, 5}));
    write_bytes(d.file("t10k-images.idx3-ubyte"), idx_images(2, 3, 3));
    write_bytes(d.file("t10k-labels.idx1-ubyte"), idx_labels({7, 8}));
    DataSplit s = load_dataset("mnist:" + d.path.string(), 0);
    CHECK(s.train.size() == 6);
    CHECK(s.test.size() == 2);
    CHECK(s.train.class_names.size() == 10);
    CHECK(s.test.labels.to_vector_i64() == std::vector<int64_t>{7, 8});
    std::filesystem::remove(d.file("t10k-labels.idx1-ubyte"));
    CHECK(contains(error_of([&] { load_dataset("mnist:" + d.path.string(), 0); }), "t10k-labels"));
  }

  TEST_CASE("idx: the real Fashion-MNIST test set") {
    const std::string dir = kFashionMnistDir;
    REQUIRE_MESSAGE(std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz"),
                    dir << " is not installed (make deps installs it)");
    Dataset t = load_idx_pair(dir + "/t10k-images-idx3-ubyte.gz",
                              dir + "/t10k-labels-idx1-ubyte.gz", "fashion-mnist");
    CHECK(t.images.shape() == Shape{10000, 1, 28, 28});
    CHECK(t.class_counts() == std::vector<int64_t>(10, 1000));
    // Pixels use the full u8 range.
    const uint8_t* x = t.images.data<uint8_t>();
    int mx = 0;
    for (int64_t i = 0; i < t.images.numel(); ++i) mx = std::max<int>(mx, x[i]);
    CHECK(mx == 255);
  }
}
