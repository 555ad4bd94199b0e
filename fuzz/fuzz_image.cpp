// Images through stb (PNG, JPEG, BMP, GIF, ... headers and bodies) as a folder: source loads
// them: geometry from the header, decoding, resizing. A huge declared size must be refused
// before anything is allocated (the sanitizer's allocation limit catches an attempt).
#include <filesystem>

#include "data/image_folder.h"
#include "fuzz/fuzz_util.h"

using namespace lethe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = fuzz::scratch() + "/images";
  std::filesystem::remove_all(dir);
  fuzz::write_file("images/a/0.png", data, size);
  fuzz::write_file("images/b/0.png", data, size);
  fuzz::refusal_ok([&] { (void)data::load_image_folder(dir, 0); });
  return 0;
}
