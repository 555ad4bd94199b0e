#include "data/normalization.h"

#include <cmath>

#include <algorithm>

#include "data/transforms.h"
#include "engine/core/error.h"
#include "engine/ops/ops.h"

namespace lethe::data {

Tensor Normalization::apply(const Tensor& x01) const {
  if (mean.empty()) return x01;
  int64_t C = static_cast<int64_t>(mean.size());
  LETHE_CHECK(x01.dim() >= 2 && x01.size(1) == C, "normalization: input ", shape_str(x01.shape()),
              " does not have ", C, " channels");
  Shape s(x01.dim(), 1);
  s[1] = C;
  std::vector<float> inv(std.size());
  for (size_t i = 0; i < std.size(); ++i) inv[i] = 1.f / std[i];
  Tensor m = Tensor::from_vector(s, mean), r = Tensor::from_vector(s, inv);
  return ops::mul(ops::sub(x01, m), r);
}

nlohmann::json Normalization::to_json() const {
  return {{"mean", mean}, {"std", std}};
}

Normalization Normalization::from_json(const nlohmann::json& j) {
  Normalization n;
  if (j.is_null()) return n;
  try {
    n.mean = j.at("mean").get<std::vector<float>>();
    n.std = j.at("std").get<std::vector<float>>();
  } catch (const nlohmann::json::exception& e) {
    LETHE_FAIL("normalization: expected {\"mean\": [...], \"std\": [...]} (", e.what(), ")");
  }
  LETHE_CHECK(n.mean.size() == n.std.size(), "normalization: mean and std differ in length");
  for (float s : n.std)
    LETHE_CHECK(s > 0 && std::isfinite(s), "normalization: std must be positive and finite");
  for (float m : n.mean) LETHE_CHECK(std::isfinite(m), "normalization: mean must be finite");
  return n;
}

Normalization Normalization::from_run(const std::map<std::string, std::string>& metadata,
                                      const nlohmann::json& config) {
  auto it = metadata.find("normalize");
  if (it != metadata.end()) {
    nlohmann::json j = nlohmann::json::parse(it->second, nullptr, false);
    LETHE_CHECK(!j.is_discarded(),
                "normalization: the checkpoint's 'normalize' metadata is not "
                "valid JSON");
    return from_json(j);
  }
  LETHE_CHECK(config.is_object() || config.is_null(),
              "normalization: config.json is not an object");
  return from_json(config.is_object() ? config.value("normalize", nlohmann::json()) : nullptr);
}

Normalization Normalization::from_dataset(const Dataset& d) {
  Normalization n;
  if (!d.is_image()) return n;  // tabular features are standardized by the loader
  channel_stats(d, n.mean, n.std);
  for (float& s : n.std) s = std::max(s, 1e-3f);
  return n;
}

}  // namespace lethe::data
