#include "unlearn/scope.h"

#include <regex>

#include "engine/core/parse.h"

namespace lethe::unlearn {

std::vector<std::string> block_paths(models::Classifier& model) {
  static const std::regex block(R"((layer\d+|blocks|layers)\.\d+)");
  std::vector<std::string> out;
  for (auto& [path, m] : model.named_modules())
    if (std::regex_match(path, block) && m->num_parameters() > 0) out.push_back(path);
  return out;
}

namespace {
bool starts_with_prefix(const std::string& name, const std::string& prefix) {
  return name == prefix ||
         (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
          name[prefix.size()] == '.');
}
}  // namespace

std::vector<std::string> apply_scope(models::Classifier& model, const std::string& scope) {
  auto params = model.named_parameters();
  std::vector<bool> keep(params.size(), false);
  if (scope == "all" || scope.empty()) {
    keep.assign(params.size(), true);
  } else if (scope == "head") {
    for (size_t i = 0; i < params.size(); ++i)
      keep[i] = starts_with_prefix(params[i].first, model.head_prefix());
  } else if (scope.rfind("last:", 0) == 0) {
    int64_t k = 0;
    LETHE_CHECK(parse_int64(scope.substr(5), k), "--layers ", scope,
                ": K must be a positive integer");
    std::vector<std::string> blocks = block_paths(model);
    LETHE_CHECK(k >= 1 && k <= static_cast<int64_t>(blocks.size()), "--layers ", scope,
                ": the model has ", blocks.size(), " blocks");
    const std::string& first = blocks[blocks.size() - k];
    // Registration order is forward order: everything from the first scoped block on.
    size_t start = params.size();
    for (size_t i = 0; i < params.size(); ++i)
      if (starts_with_prefix(params[i].first, first)) {
        start = i;
        break;
      }
    for (size_t i = start; i < params.size(); ++i) keep[i] = true;
  } else {
    size_t pos = 0;
    while (pos <= scope.size()) {
      size_t end = scope.find(',', pos);
      std::string p = scope.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      bool any = false;
      for (size_t i = 0; i < params.size(); ++i)
        if (starts_with_prefix(params[i].first, p)) keep[i] = any = true;
      LETHE_CHECK(any, "--layers: no parameter of the model starts with '", p, "'");
      if (end == std::string::npos) break;
      pos = end + 1;
    }
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor p = params[i].second;
    p.set_requires_grad(keep[i]);
    if (keep[i]) names.push_back(params[i].first);
  }
  LETHE_CHECK(!names.empty(), "--layers ", scope, ": selects no parameter");
  pin_frozen_modules(model);
  return names;
}

void pin_frozen_modules(models::Classifier& model) {
  // Pre-order walk (a module before its children, registration = forward order). A module is
  // frozen when it holds parameters and none is trainable; a parameterless one (activation,
  // dropout) when it also comes before the first module owning a trainable parameter.
  bool past_first_trainable = false;
  for (auto& [path, m] : model.named_modules()) {
    bool has_params = false, has_trainable = false, owns_trainable = false;
    for (auto& [n, p] : m->named_parameters()) {
      has_params = true;
      if (p.requires_grad()) {
        has_trainable = true;
        owns_trainable = owns_trainable || n.find('.') == std::string::npos;
      }
    }
    m->pin_eval(!has_trainable && (has_params || !past_first_trainable));
    past_first_trainable = past_first_trainable || owns_trainable;
  }
}

void clear_scope(models::Classifier& model) {
  model.set_requires_grad(true);
  for (auto& [path, m] : model.named_modules()) m->pin_eval(false);
}

std::vector<Tensor> trainable_parameters(const models::Classifier& model) {
  std::vector<Tensor> out;
  for (auto& [n, p] : model.named_parameters())
    if (p.requires_grad()) out.push_back(p);
  return out;
}

}  // namespace lethe::unlearn
