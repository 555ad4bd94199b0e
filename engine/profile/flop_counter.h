// FlopCounter: the whole-run cost of a job in two numbers — FLOPs (forward and backward) and the
// host allocator's peak tensor bytes — for runs that are not profiled layer by layer (lethe
// unlearn's metrics.json, lethe sweep's columns). Unlike LayerProfiler it is not tied to one
// model: every module forward on the thread is counted (a SCRUB teacher, BS's frozen copy, SISA's
// shards), with the same analytic counts (forward_flops per leaf layer, backward_flops per
// autograd node). It times nothing, so it costs a pointer test and a few multiplies per layer.
// Device memory is not in the peak (the CUDA/emu allocators are separate); see peak_bytes().
#pragma once
#include <cstddef>
#include <optional>

#include "engine/autograd/autograd.h"
#include "engine/nn/module.h"

namespace lethe::profile {

class FlopCounter : public nn::ForwardObserver, public BackwardObserver {
 public:
  // Installs itself on this thread and resets the allocator's peak; uninstalls on destruction
  // or stop().
  FlopCounter();
  ~FlopCounter() override = default;
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;

  void stop();  // freezes the counts and the peak
  double forward_flops() const { return fwd_; }
  double backward_flops() const { return bwd_; }
  // The host allocator's peak bytes in use between construction and stop(), and the bytes in use
  // at construction (the model, the data): peak − start is what the job itself added.
  size_t peak_bytes() const;
  size_t start_bytes() const { return start_; }

  void after(const nn::Module& m, const Tensor& in, const Tensor& out) override;
  void node_done(const Node& node, const Tensor& grad_out, double seconds) override;

 private:
  double fwd_ = 0, bwd_ = 0;
  size_t peak_ = 0, start_ = 0;
  bool stopped_ = false;
  std::optional<nn::ObserverGuard> fwd_guard_;
  std::optional<BackwardObserverGuard> bwd_guard_;
};

}  // namespace lethe::profile
