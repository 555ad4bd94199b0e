// The manifests an unlearning run reads back from its original: SISA's sisa/manifest.json and
// amnesiac's amnesiac/index.json (the input is written as both).
#include "fuzz/fuzz_util.h"
#include "train/amnesiac.h"
#include "train/sisa_train.h"

using namespace lethe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::write_file("run/sisa/manifest.json", data, size);
  fuzz::write_file("run/amnesiac/index.json", data, size);
  const std::string dir = fuzz::scratch() + "/run";
  fuzz::refusal_ok([&] { (void)train::read_sisa_manifest(dir); });
  fuzz::refusal_ok([&] { (void)train::read_amnesiac_index(dir); });
  return 0;
}
