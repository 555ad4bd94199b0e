#include "engine/nn/detect_anomaly.h"

#include "engine/autograd/autograd.h"

namespace lethe::nn {

DetectAnomaly::DetectAnomaly(Module& root) : prev_scope_(record_scope()) {
  for (auto& [name, m] : root.named_modules()) names_[m] = name.empty() ? "(model)" : name;
  observer_.emplace(this);
  mode_.emplace([this](const void* scope) {
    auto it = names_.find(scope);
    return it == names_.end() ? std::string() : it->second;
  });
}

DetectAnomaly::~DetectAnomaly() {
  mode_.reset();
  observer_.reset();
  set_record_scope(prev_scope_);
}

void DetectAnomaly::before(const Module& m, const Tensor&) {
  stack_.push_back(&m);
  set_record_scope(&m);
}

void DetectAnomaly::after(const Module& m, const Tensor&, const Tensor&) {
  // Frames a throwing forward left open are dropped up to this module's own.
  while (!stack_.empty() && stack_.back() != &m) stack_.pop_back();
  if (!stack_.empty()) stack_.pop_back();
  set_record_scope(stack_.empty() ? prev_scope_ : stack_.back());
}

}  // namespace lethe::nn
