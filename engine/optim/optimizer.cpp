// Optimizer base: parameter checks, state lookup by parameter, gradient selection.
#include "engine/optim/optimizer.h"

#include <algorithm>

namespace lethe::optim {

namespace {
thread_local StepObserver* t_step_observer = nullptr;
}  // namespace

StepObserver* step_observer() {
  return t_step_observer;
}
StepObserverGuard::StepObserverGuard(StepObserver* o) : prev_(t_step_observer) {
  t_step_observer = o;
}
StepObserverGuard::~StepObserverGuard() {
  t_step_observer = prev_;
}

void Optimizer::step() {
  update();
  if (StepObserver* o = t_step_observer) o->optimizer_step(*this);
}

size_t Optimizer::state_bytes(size_t i) const {
  size_t b = 0;
  for (const auto& [k, t] : state_.at(i))
    if (t.defined()) b += t.nbytes();
  return b;
}

Optimizer::Optimizer(std::vector<Tensor> params, double lr)
    : params_(std::move(params)), state_(params_.size()), steps_(params_.size(), 0), lr_(lr) {
  LETHE_CHECK(lr >= 0, "optimizer: learning rate must be >= 0, got ", lr);
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    LETHE_CHECK(p.defined(), "optimizer: parameter ", i, " is undefined");
    LETHE_CHECK(p.dtype() == DType::F32 && p.is_contiguous() && p.is_leaf(),
                "optimizer: parameter ", i, " must be a contiguous f32 leaf, got ",
                dtype_name(p.dtype()), " ", shape_str(p.shape()));
    LETHE_CHECK(index_.emplace(p.impl(), i).second, "optimizer: parameter ", i,
                " appears more than once");
  }
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
  LETHE_CHECK(lr >= 0, "optimizer: learning rate must be >= 0, got ", lr);
  lr_ = lr;
}

size_t Optimizer::index_of(const Tensor& p) const {
  auto it = p.defined() ? index_.find(p.impl()) : index_.end();
  LETHE_CHECK(it != index_.end(), "optimizer: tensor is not one of this optimizer's parameters");
  return it->second;
}

ParamState& Optimizer::state(size_t i) {
  LETHE_CHECK(i < state_.size(), "optimizer: parameter index ", i, " out of range (", state_.size(),
              " parameters)");
  return state_[i];
}

ParamState& Optimizer::state(const Tensor& p) {
  return state_[index_of(p)];
}

Tensor Optimizer::state_tensor(const Tensor& p, const std::string& key) {
  ParamState& s = state(p);
  auto it = s.find(key);
  return it == s.end() ? Tensor() : it->second;
}

int64_t Optimizer::step_count(const Tensor& p) {
  return steps_[index_of(p)];
}

void Optimizer::reset_state() {
  for (auto& s : state_) s.clear();
  std::fill(steps_.begin(), steps_.end(), 0);
}

std::vector<std::pair<std::string, Tensor>> Optimizer::state_dict() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (size_t i = 0; i < params_.size(); ++i) {
    const std::string p = std::to_string(i) + ".";
    out.emplace_back(p + "step", Tensor::from_vector_i64({}, {steps_[i]}));
    for (const auto& [key, t] : state_[i])
      if (t.defined()) out.emplace_back(p + key, t.cpu());
  }
  return out;
}

void Optimizer::load_state(const std::map<std::string, Tensor>& state, const std::string& where) {
  reset_state();
  for (const auto& [name, t] : state) {
    const size_t dot = name.find('.');
    LETHE_CHECK(dot != std::string::npos && dot > 0 && dot < 10 &&
                    name.find_first_not_of("0123456789") == dot,
                where, ": optimizer state '", name, "' is not <index>.<key>");
    const size_t i = std::stoul(name.substr(0, dot));
    const std::string key = name.substr(dot + 1);
    LETHE_CHECK(i < params_.size(), where, ": optimizer state '", name, "' for parameter ", i,
                " of ", params_.size());
    if (key == "step") {
      LETHE_CHECK(t.dtype() == DType::I64 && t.numel() == 1, where, ": '", name,
                  "' must be one i64");
      steps_[i] = t.to_vector_i64()[0];
      continue;
    }
    LETHE_CHECK(t.shape() == params_[i].shape() && t.dtype() == DType::F32, where,
                ": optimizer state '", name, "' has shape ", shape_str(t.shape()),
                ", its parameter ", shape_str(params_[i].shape()));
    state_[i][key] = t.device() == params_[i].device() ? t.clone() : t.to(params_[i].device());
  }
}

Tensor Optimizer::usable_grad(size_t i) const {
  const Tensor& p = params_[i];
  if (!p.requires_grad()) return Tensor();
  Tensor g = p.grad();
  if (!g.defined()) return g;
  LETHE_CHECK(g.shape() == p.shape(), "optimizer: gradient ", shape_str(g.shape()),
              " does not match parameter ", shape_str(p.shape()));
  LETHE_CHECK(g.dtype() == DType::F32, "optimizer: gradient must be f32, got ",
              dtype_name(g.dtype()));
  if (g.device() != p.device()) g = g.to(p.device());
  return g.is_contiguous() ? g : g.clone();
}

Tensor& Optimizer::state_on_device(size_t i, const std::string& key) {
  Tensor& t = state_[i][key];
  if (t.defined() && t.device() != params_[i].device()) t = t.to(params_[i].device());
  return t;
}

}  // namespace lethe::optim
