// `--detect-anomaly` for a model: anomaly mode (engine/autograd/anomaly.h) with every op
// attributed to the innermost module whose forward recorded it, named by its dotted path
// ("layer2.0.conv1"), so the first NaN/Inf is reported as op + module. A forward observer keeps
// the module stack; it takes the thread's one observer slot, so it is not combined with the
// per-layer profiler or the normalization statistics (neither runs in a training loop).
#pragma once
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/autograd/anomaly.h"
#include "engine/nn/module.h"

namespace lethe::nn {

class DetectAnomaly : public ForwardObserver {
 public:
  explicit DetectAnomaly(Module& root);
  ~DetectAnomaly() override;
  void before(const Module& m, const Tensor& in) override;
  void after(const Module& m, const Tensor& in, const Tensor& out) override;

 private:
  std::unordered_map<const void*, std::string> names_;
  std::vector<const void*> stack_;
  const void* prev_scope_;
  std::optional<ObserverGuard> observer_;
  std::optional<AnomalyMode> mode_;
};

}  // namespace lethe::nn
