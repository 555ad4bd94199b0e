// CIFAR-10 and CIFAR-100 binary batches.
#include "data/cifar.h"
#include "fuzz/fuzz_util.h"

using namespace lethe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_file("cifar/data_batch_1.bin", data, size);
  fuzz::refusal_ok([&] { (void)data::read_cifar10_file(path); });
  fuzz::refusal_ok([&] { (void)data::read_cifar100_file(path); });
  return 0;
}
