// safetensors: header length, header JSON, dtypes, shapes, offsets; then every tensor converted
// as the loaders do, and the model metadata a checkpoint carries.
#include "engine/io/safetensors.h"
#include "engine/io/tensor_io.h"
#include "fuzz/fuzz_util.h"
#include "models/checkpoint.h"

using namespace lethe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::refusal_ok([&] {
    io::SafetensorsFile f = io::parse_safetensors(data, size, "fuzz.safetensors");
    for (const auto& kv : f.tensors)
      fuzz::refusal_ok([&] { (void)io::to_tensor(kv.second, kv.first); });
    fuzz::refusal_ok([&] { (void)models::config_from_metadata(f.metadata, "fuzz.safetensors"); });
  });
  return 0;
}
