#include "engine/profile/flop_counter.h"

#include "engine/core/allocator.h"
#include "engine/profile/layer_profile.h"

namespace lethe::profile {

FlopCounter::FlopCounter() {
  Allocator::instance().reset_peak();
  start_ = Allocator::instance().stats().in_use_bytes;
  fwd_guard_.emplace(this);
  bwd_guard_.emplace(this);
}

void FlopCounter::stop() {
  if (stopped_) return;
  peak_ = Allocator::instance().stats().peak_bytes;
  bwd_guard_.reset();
  fwd_guard_.reset();
  stopped_ = true;
}

size_t FlopCounter::peak_bytes() const {
  return stopped_ ? peak_ : Allocator::instance().stats().peak_bytes;
}

void FlopCounter::after(const nn::Module& m, const Tensor& in, const Tensor& out) {
  // Composite modules count 0 in forward_flops; their leaves are observed on their own.
  if (is_leaf_layer(m)) fwd_ += profile::forward_flops(m, in, out);
}

void FlopCounter::node_done(const Node& node, const Tensor& grad_out, double) {
  bwd_ += profile::backward_flops(node, grad_out);
}

}  // namespace lethe::profile
