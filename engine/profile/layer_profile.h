// Per-layer cost profiler: while started on a thread, it observes every module forward
// (nn::ForwardObserver) and every autograd node's backward (BackwardObserver) and records per
// module of one model: calls, forward wall time (inclusive and self), backward wall time, FLOPs,
// bytes moved, activation memory and parameter counts, plus the run's peak tensor memory.
//
// What is counted (docs/ARCHITECTURE.md, "Per-layer profiler"):
// - forward time: measured around each module forward; self = inclusive − the module's observed
//   children. Ops a model runs outside any module (the loss, ResNet's stem ReLU and pooling)
//   are in no row; wall − forward − backward is reported as `unattributed_s`.
// - backward time: each autograd node is timed (closure + accumulation of its input gradients)
//   and charged to the innermost module whose forward recorded it (Node::scope); nodes recorded
//   outside modules go to the "(outside modules)" row.
// - FLOPs (multiply and add count 2): analytic per leaf type in forward, per autograd op in
//   backward, counting only the gradients the node actually computed (no weight gradient for a
//   frozen layer, no input gradient for the first layer). See flops_* below.
// - bytes moved: forward = input + output + parameters of a leaf; backward node = output
//   gradient + every saved input read + every input gradient written. A model of traffic to
//   memory, not a measurement of cache misses.
// - activation memory: bytes of the non-parameter tensors a module's autograd nodes keep for
//   backward (their saved inputs), counted when the node runs; 0 where no graph is recorded.
// - optimizer-state bytes: per parameter, the largest state (momentum buffer, Adam moments) any
//   optimizer stepping it held while the profiler ran (optim::StepObserver), charged to the
//   module owning the parameter.
// - peak: the allocator's peak bytes in use, reset at every start().
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/autograd/autograd.h"
#include "engine/nn/module.h"
#include "engine/optim/optimizer.h"

namespace lethe::profile {

// Additive costs of one module (self or inclusive of its descendants).
struct Cost {
  double fwd_s = 0, bwd_s = 0;
  double fwd_flops = 0, bwd_flops = 0;
  double fwd_bytes = 0, bwd_bytes = 0;
  double act_bytes = 0;
  double opt_bytes = 0;  // optimizer state (momentum, moments) of the parameters, at its largest
  int64_t bwd_nodes = 0;
  Cost& operator+=(const Cost& o);
  nlohmann::json to_json() const;
};

struct ModuleCost {
  std::string name;  // dotted path; "" is the model itself
  std::string type;  // Module::type_name()
  int depth = 0;     // 0 for the model, 1 for its children, ...
  bool leaf = false;
  int64_t calls = 0;                              // forward calls observed
  int64_t params = 0, trainable = 0;              // own tensors only
  int64_t params_total = 0, trainable_total = 0;  // with descendants
  Cost self, total;
};

struct ProfileReport {
  std::vector<ModuleCost> modules;  // named_modules() order
  Cost outside;                     // backward nodes recorded outside every module
  double wall_s = 0;                // time between start() and stop(), summed
  double forward_s = 0;             // observed forward time (the model's inclusive time)
  double backward_s = 0;            // backward walks, total
  int64_t walks = 0;                // backward walks (one per training step for plain training)
  int64_t runs = 0;                 // start()/stop() pairs
  size_t peak_bytes = 0;            // maximum over runs of the allocator's peak
  int64_t params = 0, trainable = 0;

  // The share of wall time a module's inclusive forward + backward takes, in [0, 1].
  double share(const ModuleCost& m) const;
  double unattributed_s() const { return wall_s - forward_s - backward_s; }
  nlohmann::json to_json() const;
  // One row per module (and the outside row), header first.
  std::string to_csv() const;
  // Human-readable table; rows deeper than max_depth (≥ 0) are omitted.
  std::string table(int max_depth = -1) const;
};

// Analytic counts used by the profiler (public so the tests compare against them).
// Conv2d: 2·N·Cout·Hout·Wout·(Cin·k·k), + N·Cout·Hout·Wout for the bias.
double conv2d_flops(int64_t n, int64_t cin, int64_t cout, int64_t hout, int64_t wout, int64_t k,
                    bool bias);
// Linear: 2·rows·in·out, + rows·out for the bias.
double linear_flops(int64_t rows, int64_t in, int64_t out, bool bias);
// A layer whose forward FLOPs are counted (no children, or attention, which runs its children's
// weights itself).
bool is_leaf_layer(const nn::Module& m);
// Forward FLOPs of a module call from its type and shapes (0 for composite modules).
double forward_flops(const nn::Module& m, const Tensor& in, const Tensor& out);
// Backward FLOPs of one autograd node, counting only the input gradients it computed.
double backward_flops(const Node& node, const Tensor& grad_out);

class LayerProfiler : public nn::ForwardObserver,
                      public BackwardObserver,
                      public optim::StepObserver {
 public:
  // Modules are those of model.named_modules(); the model must outlive the profiler.
  explicit LayerProfiler(nn::Module& model);
  ~LayerProfiler() override;
  LayerProfiler(const LayerProfiler&) = delete;
  LayerProfiler& operator=(const LayerProfiler&) = delete;

  // Installs the profiler on this thread and resets the allocator's peak; stop() uninstalls
  // and accumulates wall time and peak. Trainable counts are taken at the first start().
  void start();
  void stop();
  bool running() const { return bool(fwd_guard_); }
  ProfileReport report() const;

  void before(const nn::Module& m, const Tensor& in) override;
  void after(const nn::Module& m, const Tensor& in, const Tensor& out) override;
  void node_done(const Node& node, const Tensor& grad_out, double seconds) override;
  void walk_done(double seconds) override;
  void optimizer_step(const optim::Optimizer& opt) override;

 private:
  struct Frame {
    int index;
    std::chrono::steady_clock::time_point t0;
    double child_s = 0;
  };
  std::vector<std::pair<std::string, nn::Module*>> named_;
  std::map<const void*, int> index_;
  std::vector<ModuleCost> mods_;
  std::vector<int> parent_;  // index of the parent module, -1 for the model
  std::set<const void*> param_storage_;
  std::map<const void*, int> param_owner_;   // parameter storage → module owning it
  std::map<const void*, size_t> opt_bytes_;  // parameter storage → largest optimizer state
  std::vector<Frame> stack_;
  Cost outside_;
  double wall_s_ = 0, backward_s_ = 0;
  int64_t walks_ = 0, runs_ = 0;
  size_t peak_ = 0;
  bool counted_trainable_ = false;
  const void* prev_scope_ = nullptr;
  std::chrono::steady_clock::time_point t0_;
  std::optional<nn::ObserverGuard> fwd_guard_;
  std::optional<BackwardObserverGuard> bwd_guard_;
  std::optional<optim::StepObserverGuard> step_guard_;
};

}  // namespace lethe::profile
