// Checkpoint save/load with the model config in the safetensors metadata.
#include "models/checkpoint.h"

#include "engine/core/error.h"
#include "engine/io/tensor_io.h"

namespace lethe::models {

void save_checkpoint(const std::string& path, const nn::Module& module, const ModelConfig& config,
                     const std::map<std::string, std::string>& extra_metadata) {
  std::map<std::string, std::string> meta = extra_metadata;
  meta["format"] = "lethe";
  meta["model"] = config.to_json().dump();
  io::save_tensors(path, module.state_dict(), meta);
}

ModelConfig config_from_metadata(const std::map<std::string, std::string>& metadata,
                                 const std::string& where) {
  auto it = metadata.find("model");
  LETHE_CHECK(it != metadata.end(), where, ": no 'model' metadata, so the model cannot be ",
              "rebuilt (not a Lethe checkpoint or model reference file)");
  try {
    return ModelConfig::from_json_string(it->second);
  } catch (const Error& e) {
    LETHE_FAIL(where, ": bad 'model' metadata: ", e.what());
  }
}

void load_model_state(nn::Module& module, const std::map<std::string, Tensor>& tensors,
                      const std::string& where) {
  std::map<std::string, Tensor> sd = tensors;
  for (const auto& [name, mine] : module.state_dict()) {
    auto it = sd.find(name);
    if (it == sd.end() || !it->second.defined()) continue;
    const Tensor t = it->second;
    if (mine.dim() == 0 && t.dim() == 1 && t.numel() == 1)
      it->second = make_view(t, {}, {}, t.offset());
  }
  try {
    module.load_state_dict(sd, true);
  } catch (const Error& e) {
    LETHE_FAIL(where, ": ", e.what());
  }
}

Checkpoint load_checkpoint(const std::string& path) {
  io::NamedTensors nt = io::load_tensors(path);
  Checkpoint c;
  c.metadata = nt.metadata;
  c.config = config_from_metadata(nt.metadata, path);
  try {
    c.model = build_model(c.config);
  } catch (const Error& e) {
    LETHE_FAIL(path, ": cannot build the model of its 'model' metadata: ", e.what());
  }
  load_model_state(*c.model, nt.tensors, path);
  return c;
}

}  // namespace lethe::models
