// Reverse-mode autograd, micrograd-sized. Every op that has an input requiring a gradient (and
// runs with grad mode on) records a Node: its inputs and a closure computing input gradients
// from the output gradient. backward() walks nodes in reverse topological order. Ops whose
// inputs need no gradient record nothing, so a frozen prefix of a network costs no backward
// work at all; a node also tells its closure which inputs need gradients, so e.g. the first
// convolution never computes a gradient for the image unless the image asks for one.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace lethe {

// Gradients of the inputs given the output gradient; entries for inputs that need no gradient
// may be left undefined. needs[i] == inputs[i].requires_grad().
using BackwardFn =
    std::function<std::vector<Tensor>(const Tensor& grad_out, const std::vector<bool>& needs)>;

struct Node {
  const char* name = "";
  std::vector<Tensor> inputs;
  std::vector<bool> needs;
  BackwardFn backward;
  // The module whose forward recorded this node (innermost), for the per-layer profiler;
  // nullptr outside modules or when no profiler runs. Never dereferenced here.
  const void* scope = nullptr;
};

bool grad_enabled();

// Disables graph recording in a scope (evaluation, optimizer steps, attacks' bookkeeping).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// Re-enables recording inside a no_grad scope (e.g. an attack computing an input gradient).
class EnableGradGuard {
 public:
  EnableGradGuard();
  ~EnableGradGuard();
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool prev_;
};

// True when recording is on and at least one input requires a gradient.
bool needs_graph(const std::vector<Tensor>& inputs);

// Attaches a node to `out` when needs_graph(inputs); returns out.
Tensor record(Tensor out, const char* name, std::vector<Tensor> inputs, BackwardFn fn);

// The backward walk (Tensor::backward calls this). Frees each node's saved state once used.
void run_backward(const Tensor& root, const Tensor& grad_root);

// Counts backward closures executed on this thread (tests use it to show that frozen parts of
// a graph are never visited).
uint64_t backward_nodes_run();

// Profiler hooks (engine/profile/layer_profile.*), thread-local, off (nullptr) by default:
// - the recording scope is copied into every Node recorded on this thread;
// - a BackwardObserver sees each node once its backward ran (closure plus the accumulation of
//   its input gradients, timed) and each walk's total time.
void set_record_scope(const void* scope);
const void* record_scope();

class BackwardObserver {
 public:
  virtual ~BackwardObserver() = default;
  virtual void node_done(const Node& node, const Tensor& grad_out, double seconds) = 0;
  virtual void walk_done(double seconds) { (void)seconds; }
};
BackwardObserver* backward_observer();
// Installs `o` for a scope; restores the previous one on destruction.
class BackwardObserverGuard {
 public:
  explicit BackwardObserverGuard(BackwardObserver* o);
  ~BackwardObserverGuard();
  BackwardObserverGuard(const BackwardObserverGuard&) = delete;
  BackwardObserverGuard& operator=(const BackwardObserverGuard&) = delete;

 private:
  BackwardObserver* prev_;
};

// Gradients of `outputs` (scalar sum of each output times its grad) with respect to `inputs`
// without touching any .grad field: for attacks that need d loss / d input only.
std::vector<Tensor> grad(const Tensor& output, const std::vector<Tensor>& inputs);

}  // namespace lethe
