// config.json and model metadata: the model config (checkpoint "model" metadata), a run's
// training recipe (train_config_from_json, what retrain and --resume read back) and its input
// normalization (checkpoint "normalize" metadata, else config.json's).
#include <nlohmann/json.hpp>

#include "data/normalization.h"
#include "fuzz/fuzz_util.h"
#include "models/registry.h"
#include "train/train_run.h"

using namespace lethe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fuzz::refusal_ok([&] { (void)models::ModelConfig::from_json_string(text); });
  fuzz::refusal_ok([&] { (void)data::Normalization::from_run({{"normalize", text}}, {}); });
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return 0;
  fuzz::refusal_ok([&] { (void)data::Normalization::from_run({}, j); });
  fuzz::refusal_ok([&] {
    train::TrainConfig c = train::train_config_from_json(j);
    train::check_config(c);
  });
  return 0;
}
