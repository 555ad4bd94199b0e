// Module bookkeeping: registration, dotted-name traversal, state dicts, mode and freezing.
#include "engine/nn/module.h"

#include <set>

#include "engine/autograd/autograd.h"

namespace lethe::nn {

namespace {
// Up to a few names, quoted and comma separated, for one-line errors.
std::string name_list(const std::vector<std::string>& names) {
  std::string s;
  constexpr size_t kShown = 8;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) s += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > kShown) s += ", ... (" + std::to_string(names.size()) + " in all)";
  return s;
}

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}
}  // namespace

namespace {
thread_local ForwardObserver* t_observer = nullptr;
}

ForwardObserver* forward_observer() {
  return t_observer;
}

ObserverGuard::ObserverGuard(ForwardObserver* o) : prev_(t_observer) {
  t_observer = o;
}

ObserverGuard::~ObserverGuard() {
  t_observer = prev_;
}

Tensor Module::forward(const Tensor&) {
  LETHE_FAIL(type_name(), ": forward is not implemented");
}

void Module::check_new_name(const std::string& name) const {
  LETHE_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name(),
              ": invalid member name '", name, "' (must be non-empty, without '.')");
  auto taken = [&](const auto& list) {
    for (const auto& [n, _] : list)
      if (n == name) return true;
    return false;
  };
  LETHE_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_), type_name(),
              ": member name '", name, "' is already registered");
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  check_new_name(name);
  LETHE_CHECK(t.defined(), type_name(), ": parameter '", name, "' is undefined");
  LETHE_CHECK(is_floating(t.dtype()), type_name(), ": parameter '", name,
              "' must be a float tensor, got ", dtype_name(t.dtype()));
  if (!t.is_leaf()) t = t.detach();
  t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name);
  LETHE_CHECK(t.defined(), type_name(), ": buffer '", name, "' is undefined");
  if (!t.is_leaf() || t.requires_grad()) t = t.detach();
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> m) {
  check_new_name(name);
  LETHE_CHECK(m != nullptr, type_name(), ": child module '", name, "' is null");
  LETHE_CHECK(m.get() != this, type_name(), ": a module cannot contain itself");
  children_.emplace_back(name, std::move(m));
}

void Module::collect(const std::string& prefix, bool params, NamedTensorList& out) const {
  for (const auto& [n, t] : params ? params_ : buffers_) out.emplace_back(join(prefix, n), t);
  for (const auto& [n, c] : children_) c->collect(join(prefix, n), params, out);
}

NamedTensorList Module::named_parameters() const {
  NamedTensorList out;
  collect("", true, out);
  return out;
}

NamedTensorList Module::named_buffers() const {
  NamedTensorList out;
  collect("", false, out);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  std::function<void(const std::string&, Module*)> walk = [&](const std::string& p, Module* m) {
    out.emplace_back(p, m);
    for (auto& [n, c] : m->children_) walk(join(p, n), c.get());
  };
  walk("", this);
  return out;
}

Module* Module::find_module(const std::string& path) {
  Module* m = this;
  size_t start = 0;
  while (m && start <= path.size() && !path.empty()) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    Module* next = nullptr;
    for (auto& [n, c] : m->children_)
      if (n == part) next = c.get();
    m = next;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return m;
}

Tensor Module::find_tensor(const std::string& path) const {
  size_t dot = path.rfind('.');
  const Module* m = this;
  if (dot != std::string::npos) m = const_cast<Module*>(this)->find_module(path.substr(0, dot));
  if (!m) return Tensor();
  std::string leaf = dot == std::string::npos ? path : path.substr(dot + 1);
  for (const auto* list : {&m->params_, &m->buffers_})
    for (const auto& [n, t] : *list)
      if (n == leaf) return t;
  return Tensor();
}

void Module::train(bool on) {
  training_ = on && !eval_pinned_;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::pin_eval(bool on) {
  eval_pinned_ = on;
  if (on) training_ = false;
}

NamedTensorList Module::state_dict() const {
  NamedTensorList out = named_parameters();
  NamedTensorList bufs = named_buffers();
  out.insert(out.end(), bufs.begin(), bufs.end());
  for (auto& [n, t] : out) t = t.detach();
  return out;
}

void Module::load_state_dict(const std::map<std::string, Tensor>& sd, bool strict) {
  NamedTensorList mine = state_dict();
  std::vector<std::string> missing, unexpected, misshapen;
  std::set<std::string> known;
  for (const auto& [n, t] : mine) {
    known.insert(n);
    auto it = sd.find(n);
    if (it == sd.end()) {
      missing.push_back(n);
    } else if (!it->second.defined() || it->second.shape() != t.shape()) {
      misshapen.push_back("'" + n + "' (checkpoint " +
                          (it->second.defined() ? shape_str(it->second.shape()) : "undefined") +
                          ", model " + shape_str(t.shape()) + ")");
    }
  }
  for (const auto& [n, t] : sd)
    if (!known.count(n)) unexpected.push_back(n);
  // Shape mismatches are errors even when not strict (PyTorch does the same).
  if (!misshapen.empty()) {
    std::string msg = "load_state_dict: shape mismatch for ";
    for (size_t i = 0; i < misshapen.size(); ++i) msg += (i ? ", " : "") + misshapen[i];
    LETHE_FAIL(msg);
  }
  if (strict) {
    LETHE_CHECK(missing.empty(), "load_state_dict: missing tensor(s) ", name_list(missing));
    LETHE_CHECK(unexpected.empty(), "load_state_dict: unexpected tensor(s) ",
                name_list(unexpected));
  }
  NoGradGuard ng;
  for (auto& [n, t] : mine) {
    auto it = sd.find(n);
    if (it != sd.end()) t.copy_(it->second);
  }
}

void Module::to(Device device) {
  auto move = [&](const Tensor& t) {
    if (!t.defined() || t.device() == device) return;
    Tensor moved = t.detach().to(device);  // contiguous, on the device
    TensorImpl* impl = t.impl();
    impl->storage = moved.impl()->storage;
    impl->strides = moved.strides();
    impl->offset = moved.offset();
    impl->grad.reset();
  };
  for (auto& [n, t] : named_parameters()) move(t);
  for (auto& [n, t] : named_buffers())
    if (is_floating(t.dtype())) move(t);
}

Device Module::device() const {
  for (const auto& [n, t] : named_parameters()) return t.device();
  return Device();
}

void Module::zero_grad() {
  for (auto& [n, t] : named_parameters()) t.zero_grad();
}

void Module::set_requires_grad(bool on) {
  // Like requires_grad_(): existing .grad values are left alone (optimizers skip frozen ones).
  for (auto& [n, t] : named_parameters()) t.set_requires_grad(on);
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  fn(*this);
  for (auto& [n, c] : children_) c->apply(fn);
}

Sequential::Sequential(std::vector<ModulePtr> mods) {
  for (auto& m : mods) push_back(std::move(m));
}

Sequential& Sequential::push_back(ModulePtr m) {
  return add(std::to_string(mods_.size()), m);
}

Sequential& Sequential::add(const std::string& name, ModulePtr m) {
  register_module(name, m);
  mods_.push_back(std::move(m));
  return *this;
}

Tensor Sequential::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  Tensor h = x;
  for (auto& m : mods_) h = m->forward(h);
  return obs.done(h);
}

}  // namespace lethe::nn
