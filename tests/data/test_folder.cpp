// Image folders and image CSV lists: PNG decoding, class labels from folder names, resizing,
// grayscale/RGB, the train/test layout and the seeded split.
#include <doctest/doctest.h>
#include <stb/stb_image_write.h>

#include <filesystem>

#include "data/image_folder.h"
#include "data/spec.h"
#include "tests/data/util.h"

using namespace lethe;
using namespace lethe::data;
using namespace lethe::data::test;
namespace fs = std::filesystem;

namespace {

// A w x h image with `comp` channels, every byte = value (+ channel index).
void png(const fs::path& p, int w, int h, int comp, uint8_t value) {
  fs::create_directories(p.parent_path());
  std::vector<uint8_t> px(static_cast<size_t>(w * h * comp));
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(value + i % comp);
  REQUIRE(stbi_write_png(p.string().c_str(), w, h, comp, px.data(), w * comp) != 0);
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("folder: class subfolders, labels by sorted name, seeded split") {
    TempDir d("folder");
    for (int i = 0; i < 5; ++i) {
      png(d.path / "cat" / (lethe::detail::concat("c", i, ".png")), 6, 4, 1, 10);
      png(d.path / "ant" / (lethe::detail::concat("a", i, ".png")), 6, 4, 1, 200);
    }
    DataSplit s = load_dataset("folder:" + d.path.string(), 1);
    CHECK(s.train.class_names == std::vector<std::string>{"ant", "cat"});
    CHECK(s.train.size() == 8);
    CHECK(s.test.size() == 2);
    CHECK(s.test.class_counts() == std::vector<int64_t>{1, 1});
    CHECK(s.train.images.shape() == Shape{8, 1, 4, 6});
    // Labels match pixel content: ant (0) images are 200, cat (1) are 10.
    for (const Dataset* ds : {&s.train, &s.test}) {
      for (int64_t i = 0; i < ds->size(); ++i) {
        const uint8_t v = ds->images.data<uint8_t>()[i * 24];
        CHECK(v == (ds->labels.data<int64_t>()[i] == 0 ? 200 : 10));
      }
    }
    // Same seed, same split; another seed may differ but keeps the sizes.
    DataSplit again = load_dataset("folder:" + d.path.string(), 1);
    CHECK(again.test.labels.to_vector_i64() == s.test.labels.to_vector_i64());
    CHECK(again.test.images.to_vector() == s.test.images.to_vector());
    DataSplit other = load_dataset("folder:" + d.path.string() + ":seed=7", 1);
    CHECK(other.test.size() == 2);
  }

  TEST_CASE("folder: mixed sizes and colour resize to a common RGB size") {
    TempDir d("folderrgb");
    png(d.path / "train" / "a" / "0.png", 8, 8, 1, 50);
    png(d.path / "train" / "b" / "0.png", 4, 4, 3, 100);
    png(d.path / "test" / "b" / "1.png", 16, 2, 4, 30);
    DataSplit s = load_dataset("folder:" + d.path.string(), 0);
    CHECK(s.train.images.shape() == Shape{2, 3, 8, 8});  // first image's size, colour seen
    CHECK(s.test.images.shape() == Shape{1, 3, 8, 8});
    CHECK(s.test.labels.to_vector_i64() == std::vector<int64_t>{1});
    // Grey replicated to RGB; constant images stay constant through the resize.
    const uint8_t* x = s.train.images.data<uint8_t>();
    CHECK(x[0] == 50);
    CHECK(x[64] == 50);
    CHECK(x[192 + 0] == 100);   // b, R plane
    CHECK(x[192 + 64] == 101);  // b, G plane
    CHECK(x[192 + 128 + 63] == 102);
    s = load_dataset("folder:" + d.path.string() + ":size=5x3:channels=1", 0);
    CHECK(s.train.images.shape() == Shape{2, 1, 5, 3});
    // A test class with no training folder is an error.
    png(d.path / "test" / "zebra" / "0.png", 4, 4, 1, 0);
    CHECK(contains(error_of([&] { load_dataset("folder:" + d.path.string(), 0); }), "zebra"));
  }

  TEST_CASE("folder: csv of path,label and bad images") {
    TempDir d("foldercsv");
    std::string csv = "path,label\n";
    for (int i = 0; i < 10; ++i) {
      const std::string name = lethe::detail::concat("img", i, ".png");
      png(d.path / name, 3, 3, 1, static_cast<uint8_t>(i));
      csv += name + "," + (i % 2 ? "dog" : "cat") + "\n";
    }
    write_text(d.file("list.csv"), csv);
    DataSplit s = load_dataset("folder:" + d.file("list.csv"), 3);
    CHECK(s.train.class_names == std::vector<std::string>{"cat", "dog"});
    CHECK(s.train.size() + s.test.size() == 10);
    for (int64_t i = 0; i < s.train.size(); ++i) {
      const int v = s.train.images.data<uint8_t>()[i * 9];
      CHECK(s.train.labels.data<int64_t>()[i] == v % 2);
    }
    write_text(d.file("bad.txt"), "not an image");
    write_text(d.file("list2.csv"), "img0.png,0\nbad.txt,1\n");
    std::string e = error_of([&] { load_dataset("folder:" + d.file("list2.csv"), 0); });
    CHECK(contains(e, "bad.txt"));
    write_text(d.file("list3.csv"), "img0.png,0,9\n");
    e = error_of([&] { load_dataset("folder:" + d.file("list3.csv"), 0); });
    CHECK(contains(e, "list3.csv:1"));
  }

  TEST_CASE("folder: bilinear resize of a ramp") {
    // 1x4 ramp 0,100,200,255 -> 1x2: half-pixel centres sample 0.5 and 2.5.
    const uint8_t src[4] = {0, 100, 200, 255};
    uint8_t dst[2];
    resize_bilinear(src, 1, 4, dst, 1, 2, 1);
    CHECK(dst[0] == 50);
    CHECK(dst[1] == 228);
    uint8_t up[8];
    resize_bilinear(src, 1, 4, up, 1, 8, 1);
    CHECK(up[0] == 0);
    CHECK(up[7] == 255);
  }
}
