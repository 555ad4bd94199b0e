// Inputs libFuzzer found (fuzz/, scripts/fuzz.sh) or that the issue named, kept as regressions:
// each is refused with a lethe::Error naming the file, and none makes the loader allocate what
// the header promises before the data is there.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "data/idx.h"
#include "data/image_folder.h"
#include "data/normalization.h"
#include "engine/core/allocator.h"
#include "engine/io/run_dir.h"
#include "tests/data/util.h"
#include "train/train_run.h"

using namespace lethe;
using lethe::data::test::TempDir;
using lethe::test::error_of;

namespace {
const std::string kDir = LETHE_TEST_DATA_DIR "/data/fuzz/";

// An image folder with one class holding `file`.
std::string folder_with(const TempDir& t, const std::string& file) {
  std::filesystem::create_directories(t.path / "a");
  std::filesystem::copy_file(kDir + file, t.path / "a" / file);
  return t.path.string();
}
}  // namespace

TEST_SUITE("data") {
  TEST_CASE("an image header declaring 60000x60000 or 20000x20000 is refused before decoding") {
    // stb itself refuses 60000x60000 RGB (over its 2^30-byte limit); 20000x20000 grey (400 MB)
    // it would decode: Lethe's bound (4096x4096 pixels) refuses it from the header.
    for (const auto& [file, says] :
         {std::pair<std::string, std::string>{"png_60000x60000.png", "not a readable image"},
          {"png_20000x20000_gray.png", "image of 20000x20000 pixels exceeds the limit"}}) {
      CAPTURE(file);
      TempDir t("fuzz_png");
      const std::string dir = folder_with(t, file);
      Allocator::instance().reset_peak();
      const size_t before = Allocator::instance().stats().in_use_bytes;
      std::string msg = error_of([&] { (void)data::load_image_folder(dir, 0); });
      CHECK(msg.find(file + ": " + says) != std::string::npos);
      CHECK(Allocator::instance().stats().peak_bytes - before < (size_t{1} << 20));
    }
  }

  TEST_CASE("fuzz regression: a BMP of width 1174405122 is refused") {
    TempDir t("fuzz_bmp");
    std::string msg =
        error_of([&] { (void)data::load_image_folder(folder_with(t, "bmp_huge_width.bmp"), 0); });
    CHECK(msg.find("bmp_huge_width.bmp: image of 1174405122x39 pixels exceeds the limit") !=
          std::string::npos);
  }

  TEST_CASE("fuzz regression: an IDX header promising more than the file holds allocates nothing") {
    Allocator::instance().reset_peak();
    const size_t before = Allocator::instance().stats().in_use_bytes;
    std::string msg =
        error_of([&] { (void)data::read_idx_images(kDir + "idx_promises_78mb.idx"); });
    CHECK(msg.find("truncated: header promises 100000 images of 28x28") != std::string::npos);
    CHECK(Allocator::instance().stats().peak_bytes - before < (size_t{1} << 20));
    msg = error_of([&] { (void)data::read_idx_labels(kDir + "idx_labels_promise_2g.idx"); });
    CHECK(msg.find("truncated: header promises 2147483648 labels but the file holds 0") !=
          std::string::npos);
  }

  TEST_CASE("fuzz regression: config.json of the wrong shape or types is a one-line error") {
    auto config = [](const std::string& f) { return io::read_json(kDir + f); };
    CHECK(error_of([&] { (void)train::train_config_from_json(config("config_number.json")); }) ==
          "config.json: expected a JSON object");
    std::string msg =
        error_of([&] { (void)train::train_config_from_json(config("config_wrong_type.json")); });
    CHECK(msg.find("config.json: an option has the wrong type") == 0);
    msg = error_of(
        [&] { (void)data::Normalization::from_run({}, config("config_wrong_type.json")); });
    CHECK(msg.find("normalization: expected {\"mean\": [...], \"std\": [...]}") == 0);
    msg = error_of([&] { (void)data::Normalization::from_run({{"normalize", "{"}}, {}); });
    CHECK(msg.find("not valid JSON") != std::string::npos);
    msg = error_of([&] {
      (void)data::Normalization::from_json({{"mean", {NAN}}, {"std", {1.0}}});
    });
    CHECK(msg == "normalization: mean must be finite");
  }
}
