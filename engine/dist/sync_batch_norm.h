// Synchronised batch norm (issue 21, item 1: the option beside per-rank statistics). In a
// data-parallel step each rank holds a slice of the global batch; by default (as PyTorch DDP)
// every BatchNorm normalizes its slice by the slice's own mean and variance. Under a
// SyncBatchNormScope the BatchNorm layers in training mode normalize by the statistics of the
// whole global batch instead, so N ranks × batch B/N compute the model one rank computes with
// batch B (to float32 rounding) — what a user who scales out expects of a model with batch norm.
//
// How: batch_norm is composed from ops (sum, sub, mul, sqrt, div) around one new autograd node,
// allreduce_sum, whose forward sums a [1,C,1,1] tensor over the ranks and whose backward sums the
// gradients over the ranks. Two all-reduces of C floats per layer forward (Σx, then Σ(x−μ)²: the
// two-pass variance, as the fused kernel computes it), two per layer backward.
// The backward's sum is weighted: the gradient reducer (grad_reducer.h) later scales each rank's
// parameter gradients by its share w_r of the global batch, so the node sums w_r·g_r over the
// ranks and divides by the local w_r — a parameter's gradient through the shared statistics is
// then counted once, whatever the slice sizes.
// Host tensors only: on a device this would be NCCL's all-reduce, which is not written (the
// scope refuses a model on a device).
#pragma once
#include "engine/core/tensor.h"
#include "engine/dist/communicator.h"

namespace lethe::dist {

// Active for one training step: BatchNorm layers in training mode synchronise over `comm`;
// `share` is this rank's rows / the global batch's rows.
class SyncBatchNormScope {
 public:
  SyncBatchNormScope(const Communicator& comm, double share);
  ~SyncBatchNormScope();
  SyncBatchNormScope(const SyncBatchNormScope&) = delete;
  SyncBatchNormScope& operator=(const SyncBatchNormScope&) = delete;

 private:
  const Communicator* saved_comm_;
  double saved_share_;
};

// The communicator of the active scope (nullptr outside one, or with one rank).
const Communicator* sync_batch_norm_group();

// Batch norm in training mode with statistics over every rank of the active scope's group; the
// running statistics are updated with the global mean and unbiased variance (as batch_norm).
Tensor sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       const Tensor& running_mean, const Tensor& running_var, double momentum,
                       double eps);

// Σ over the ranks of `x` (host, float32); backward: Σ_r share_r·g_r / share (see above).
Tensor allreduce_sum(const Tensor& x, const Communicator& comm, double share);

}  // namespace lethe::dist
