// Gradient averaging for data-parallel training (issue 21): after backward, every rank holds the
// gradient of its slice of the global batch; reduce() replaces each by the weighted sum over the
// ranks, Σ_r w_r·g_r with w_r = (rows of rank r) / (rows of the global batch), which is the
// gradient of the global batch's mean loss. Parameters are packed into buckets of at most
// `bucket_bytes` (one oversized parameter is a bucket of its own) in reverse registration
// order — the order backward produces them — and each bucket is one all-reduce, not one per
// tensor. On the CPU the buckets are reduced after backward (no overlap); gradients on a device
// are staged through host memory (a CUDA build with NCCL would reduce them in place; see
// docs/ARCHITECTURE.md "Distribution").
#pragma once
#include <cstdint>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/dist/communicator.h"

namespace lethe::dist {

class GradientReducer {
 public:
  static constexpr int64_t kDefaultBucketBytes = 4 << 20;

  GradientReducer(const Communicator& comm, std::vector<Tensor> params,
                  int64_t bucket_bytes = kDefaultBucketBytes);

  // Collective: every rank calls it once per step with its own weight (0 for a rank whose slice
  // was empty; it then has no gradients, which count as zeros). A parameter without a gradient
  // on every rank keeps none (so an optimizer skips it, as on one rank).
  void reduce(double weight);

  // Collective: rank 0's parameter values to every rank (parameters on the host; a device
  // parameter is staged). Run at the start of each epoch, so that ranks that replicate the
  // work outside the shared loop can never drift apart silently.
  void broadcast_parameters();

  int64_t num_buckets() const { return static_cast<int64_t>(buckets_.size()); }
  // Parameter indices of bucket b, in packing order.
  const std::vector<size_t>& bucket(int64_t b) const { return buckets_[static_cast<size_t>(b)]; }
  // All-reduce calls made so far (one for the presence flags per step, then one per bucket
  // holding a gradient).
  int64_t allreduce_calls() const { return calls_; }

 private:
  const Communicator& comm_;
  std::vector<Tensor> params_;
  std::vector<std::vector<size_t>> buckets_;
  std::vector<float> buffer_;
  std::vector<int64_t> present_;
  int64_t calls_ = 0;
};

}  // namespace lethe::dist
