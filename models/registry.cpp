// ModelConfig JSON (de)serialization, named presets and build_model.
#include "models/registry.h"

#include <algorithm>

#include "engine/core/error.h"
#include "models/mlp.h"
#include "models/resnet.h"
#include "models/vit.h"

namespace lethe::models {

using nlohmann::json;

namespace {

const std::vector<std::string>& keys_of(const std::string& arch) {
  static const std::vector<std::string> resnet{"arch",  "name", "block",    "layers",
                                               "width", "stem", "in_chans", "num_classes"};
  static const std::vector<std::string> vit{"arch", "name",  "img",   "patch",     "in_chans",
                                            "dim",  "depth", "heads", "mlp_ratio", "num_classes"};
  static const std::vector<std::string> mlp{"arch", "name", "in_features", "hidden", "num_classes"};
  static const std::vector<std::string> logreg{"arch", "name", "in_features", "num_classes"};
  if (arch == "resnet") return resnet;
  if (arch == "vit") return vit;
  if (arch == "mlp") return mlp;
  if (arch == "logreg") return logreg;
  LETHE_FAIL("model config: unknown arch '", arch, "' (valid: resnet, vit, mlp, logreg)");
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

const json& need(const json& j, const std::string& key) {
  auto it = j.find(key);
  LETHE_CHECK(it != j.end(), "model config: missing key '", key, "' in ", j.dump());
  return *it;
}

int64_t get_int(const json& j, const std::string& key) {
  const json& v = need(j, key);
  LETHE_CHECK(v.is_number_integer(), "model config: '", key, "' must be an integer, got ",
              v.dump());
  return v.get<int64_t>();
}

double get_num(const json& j, const std::string& key) {
  const json& v = need(j, key);
  LETHE_CHECK(v.is_number(), "model config: '", key, "' must be a number, got ", v.dump());
  return v.get<double>();
}

std::string get_str(const json& j, const std::string& key) {
  const json& v = need(j, key);
  LETHE_CHECK(v.is_string(), "model config: '", key, "' must be a string, got ", v.dump());
  return v.get<std::string>();
}

std::vector<int64_t> get_ints(const json& j, const std::string& key) {
  const json& v = need(j, key);
  LETHE_CHECK(v.is_array(), "model config: '", key, "' must be a list of integers, got ", v.dump());
  std::vector<int64_t> out;
  for (const auto& e : v) {
    LETHE_CHECK(e.is_number_integer(), "model config: '", key, "' must be a list of integers, got ",
                v.dump());
    out.push_back(e.get<int64_t>());
  }
  return out;
}

}  // namespace

json ModelConfig::to_json() const {
  json j;
  j["arch"] = arch;
  j["name"] = name.empty() ? arch : name;
  if (arch == "resnet") {
    j["block"] = block;
    j["layers"] = layers;
    j["width"] = width;
    j["stem"] = stem;
    j["in_chans"] = in_chans;
  } else if (arch == "vit") {
    j["img"] = img;
    j["patch"] = patch;
    j["in_chans"] = in_chans;
    j["dim"] = dim;
    j["depth"] = depth;
    j["heads"] = heads;
    j["mlp_ratio"] = mlp_ratio;
  } else if (arch == "mlp" || arch == "logreg") {
    j["in_features"] = in_features;
    if (arch == "mlp") j["hidden"] = hidden;
  } else {
    LETHE_FAIL("model config: unknown arch '", arch, "' (valid: resnet, vit, mlp, logreg)");
  }
  j["num_classes"] = num_classes;
  return j;
}

ModelConfig ModelConfig::from_json(const json& j) {
  LETHE_CHECK(j.is_object(), "model config: expected a JSON object, got ", j.dump());
  ModelConfig c;
  c.arch = get_str(j, "arch");
  const auto& known = keys_of(c.arch);
  for (const auto& [k, v] : j.items())
    LETHE_CHECK(std::find(known.begin(), known.end(), k) != known.end(), "model config: unknown ",
                "key '", k, "' for arch '", c.arch, "' (known: ", joined(known), ")");
  c.name = j.contains("name") ? get_str(j, "name") : c.arch;
  c.num_classes = get_int(j, "num_classes");
  if (c.arch == "resnet") {
    c.block = get_str(j, "block");
    c.layers = get_ints(j, "layers");
    c.width = get_int(j, "width");
    c.stem = get_str(j, "stem");
    c.in_chans = get_int(j, "in_chans");
  } else if (c.arch == "vit") {
    c.img = get_int(j, "img");
    c.patch = get_int(j, "patch");
    c.in_chans = get_int(j, "in_chans");
    c.dim = get_int(j, "dim");
    c.depth = get_int(j, "depth");
    c.heads = get_int(j, "heads");
    c.mlp_ratio = get_num(j, "mlp_ratio");
  } else {
    c.in_features = get_int(j, "in_features");
    c.hidden = c.arch == "mlp" ? get_ints(j, "hidden") : std::vector<int64_t>{};
  }
  return c;
}

ModelConfig ModelConfig::from_json_string(const std::string& s) {
  json j;
  try {
    j = json::parse(s);
  } catch (const json::exception& e) {
    LETHE_FAIL("model config: not valid JSON (", e.what(), "): ", s.substr(0, 80));
  }
  return from_json(j);
}

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names{"resnet18",  "resnet34", "resnet50", "vit-tiny",
                                              "vit-small", "mlp",      "logreg"};
  return names;
}

ModelConfig config_for(const std::string& name, int64_t in_channels, int64_t image_size,
                       int64_t num_classes, const json& overrides) {
  ModelConfig c;
  c.name = name;
  c.in_chans = in_channels;
  c.num_classes = num_classes;
  if (name == "resnet18" || name == "resnet34" || name == "resnet50") {
    c.arch = "resnet";
    c.block = name == "resnet50" ? "bottleneck" : "basic";
    c.layers =
        name == "resnet18" ? std::vector<int64_t>{2, 2, 2, 2} : std::vector<int64_t>{3, 4, 6, 3};
  } else if (name == "vit-tiny" || name == "vit-small") {
    c.arch = "vit";
    c.img = image_size;
    c.patch = 4;
    c.dim = name == "vit-small" ? 192 : 96;
    c.depth = name == "vit-small" ? 6 : 4;
    c.heads = 3;
    c.mlp_ratio = 4.0;
  } else if (name == "mlp" || name == "logreg") {
    c.arch = name;
    c.in_features = in_channels * image_size * image_size;
    if (name == "logreg") c.hidden.clear();
  } else {
    LETHE_FAIL("unknown model '", name, "' (valid: ", joined(model_names()), ")");
  }
  if (overrides.is_null()) return c;
  LETHE_CHECK(overrides.is_object(), "model options: expected a JSON object, got ",
              overrides.dump());
  json j = c.to_json();
  for (const auto& [k, v] : overrides.items()) {
    if (v.is_null()) continue;
    LETHE_CHECK(k != "arch" && k != "name", "model options: '", k, "' cannot be overridden");
    j[k] = v;  // from_json rejects keys this arch does not have
  }
  return ModelConfig::from_json(j);
}

std::shared_ptr<Classifier> build_model(const ModelConfig& c) {
  if (c.arch == "resnet") {
    ResNetOptions o;
    o.block = c.block;
    o.layers = c.layers;
    o.width = c.width;
    o.stem = c.stem;
    o.in_chans = c.in_chans;
    o.num_classes = c.num_classes;
    return std::make_shared<ResNet>(o);
  }
  if (c.arch == "vit") {
    ViTOptions o;
    o.img = c.img;
    o.patch = c.patch;
    o.in_chans = c.in_chans;
    o.num_classes = c.num_classes;
    o.dim = c.dim;
    o.depth = c.depth;
    o.heads = c.heads;
    o.mlp_ratio = c.mlp_ratio;
    return std::make_shared<VisionTransformer>(o);
  }
  if (c.arch == "mlp" || c.arch == "logreg") {
    MlpOptions o;
    o.in_features = c.in_features;
    o.hidden = c.arch == "mlp" ? c.hidden : std::vector<int64_t>{};
    o.num_classes = c.num_classes;
    return std::make_shared<Mlp>(o);
  }
  LETHE_FAIL("model config: unknown arch '", c.arch, "' (valid: resnet, vit, mlp, logreg)");
}

}  // namespace lethe::models
