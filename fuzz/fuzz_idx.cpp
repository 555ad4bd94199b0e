// IDX images and labels (MNIST, Fashion-MNIST), raw or gzip: zlib reads both through one path.
#include "data/idx.h"
#include "fuzz/fuzz_util.h"

using namespace lethe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_file("idx/in-ubyte.gz", data, size);
  fuzz::refusal_ok([&] { (void)data::read_idx_images(path); });
  fuzz::refusal_ok([&] { (void)data::read_idx_labels(path); });
  return 0;
}
