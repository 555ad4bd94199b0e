// Module: the container of named parameters, buffers and child modules, with PyTorch-style
// dotted names ("layer1.0.conv1.weight"), train/eval mode, state dicts and freezing.
// Sequential chains children named "0", "1", ... (or given names).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"

namespace lethe::nn {

using NamedTensorList = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The computation; the base class has none and throws.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }
  // Class name for printing and profiles ("Linear", "BatchNorm2d", ...).
  virtual std::string type_name() const { return "Module"; }

  // Registration (names are unique within one module and contain no '.'). Parameters are f32
  // leaves and get requires_grad; buffers (running statistics, counters) never do.
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    add_child(name, m);
    return m;
  }

  // Ordered by registration, depth first (own tensors before children's), like PyTorch.
  NamedTensorList named_parameters() const;
  NamedTensorList named_buffers() const;
  std::vector<Tensor> parameters() const;
  // Direct children, and all modules below (this one first, named "").
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const {
    return children_;
  }
  bool has_children() const { return !children_.empty(); }
  std::vector<std::pair<std::string, Module*>> named_modules();
  // Lookup by dotted path; nullptr / undefined when absent.
  Module* find_module(const std::string& path);
  Tensor find_tensor(const std::string& path) const;  // parameter or buffer

  // Mode: recursive, like PyTorch's train()/eval(). A module pinned to eval mode stays in eval
  // mode whatever train() asks (its children follow their own pins).
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Pins this module (not its children) to eval mode, or releases it. Layer scopes pin the
  // modules outside the scope, so a frozen BatchNorm normalizes with its running statistics and
  // never updates them, whichever training loop calls train(true).
  void pin_eval(bool on);
  bool eval_pinned() const { return eval_pinned_; }

  // Parameters and buffers by dotted name. The tensors share storage with the module (detached
  // handles), so a caller may read or save them without copying.
  NamedTensorList state_dict() const;
  // Copies values into the existing tensors (identity kept, dtype converted). Throws a
  // lethe::Error naming the tensor(s) for a shape mismatch and, when strict, for missing or
  // unexpected entries; nothing is modified when it throws.
  void load_state_dict(const std::map<std::string, Tensor>& sd, bool strict = true);

  // Moves every parameter and floating-point buffer to `device`, in place: each tensor keeps its
  // identity (layers, optimizers and hooks holding it see the new memory), its gradient is
  // dropped. Integer buffers (BatchNorm's num_batches_tracked) stay on the host: counters no
  // kernel reads, so a training step on a device does not copy one per layer.
  void to(Device device);
  // The device of the parameters (the host for a module without any).
  Device device() const;

  // Drops all parameter gradients (PyTorch's set_to_none).
  void zero_grad();
  // Freezes (false) or unfreezes (true) every parameter of this module and its children.
  void set_requires_grad(bool on);
  int64_t num_parameters() const;
  // Calls fn on this module and every descendant (pre-order).
  void apply(const std::function<void(Module&)>& fn);

 protected:
  bool training_ = true;
  bool eval_pinned_ = false;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> m);
  void check_new_name(const std::string& name) const;
  void collect(const std::string& prefix, bool params, NamedTensorList& out) const;

  NamedTensorList params_;
  NamedTensorList buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

using ModulePtr = std::shared_ptr<Module>;

// Observes module forwards: the per-layer profiler (time, FLOPs, attribution of autograd nodes)
// and the normalization statistics (BN/LN activations per class) hang off this one point.
// Every layer in layers.h and the composite blocks of models/ open an ObservedForward around
// their computation. The observer is thread-local; with none installed a forward costs one
// pointer test. `after` sees the input and the output of the same call.
class ForwardObserver {
 public:
  virtual ~ForwardObserver() = default;
  virtual void before(const Module& m, const Tensor& in) {
    (void)m;
    (void)in;
  }
  virtual void after(const Module& m, const Tensor& in, const Tensor& out) {
    (void)m;
    (void)in;
    (void)out;
  }
};

// The observer installed on this thread, or nullptr.
ForwardObserver* forward_observer();

// Installs an observer for a scope; restores the previous one on destruction.
class ObserverGuard {
 public:
  explicit ObserverGuard(ForwardObserver* o);
  ~ObserverGuard();
  ObserverGuard(const ObserverGuard&) = delete;
  ObserverGuard& operator=(const ObserverGuard&) = delete;

 private:
  ForwardObserver* prev_;
};

// Brackets one forward: `ObservedForward f(*this, x); ... return f.done(y);`. When the
// computation throws, `after` is not called (the observer sees an unbalanced `before`; the
// profiler and statistics discard their run on error anyway).
class ObservedForward {
 public:
  ObservedForward(const Module& m, const Tensor& in) : m_(m), in_(in), obs_(forward_observer()) {
    if (obs_) obs_->before(m_, in_);
  }
  Tensor done(Tensor out) {
    if (obs_) obs_->after(m_, in_, out);
    return out;
  }

 private:
  const Module& m_;
  const Tensor& in_;
  ForwardObserver* obs_;
};

// Runs children in order. Children added with push_back are named by their index.
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<ModulePtr> mods);
  std::string type_name() const override { return "Sequential"; }
  Tensor forward(const Tensor& x) override;

  // Appends under the name "<current size>".
  Sequential& push_back(ModulePtr m);
  // Appends under an explicit name (torchvision's downsample uses "0", "1"; others use words).
  Sequential& add(const std::string& name, ModulePtr m);
  size_t size() const { return mods_.size(); }
  const ModulePtr& operator[](size_t i) const { return mods_.at(i); }

 private:
  std::vector<ModulePtr> mods_;
};

}  // namespace lethe::nn
