#include "engine/dist/grad_reducer.h"

#include "engine/autograd/autograd.h"
#include "engine/dist/device_collectives.h"
#include "engine/ops/ops.h"

#include <algorithm>
#include <cstring>

namespace lethe::dist {

GradientReducer::GradientReducer(const Communicator& comm, std::vector<Tensor> params,
                                 int64_t bucket_bytes)
    : comm_(comm), params_(std::move(params)) {
  LETHE_CHECK(bucket_bytes > 0, "gradient buckets: size must be > 0, got ", bucket_bytes);
  int64_t used = 0, largest = 0;
  for (size_t k = params_.size(); k-- > 0;) {
    const int64_t bytes = params_[k].numel() * static_cast<int64_t>(sizeof(float));
    if (buckets_.empty() || (used > 0 && used + bytes > bucket_bytes)) {
      buckets_.emplace_back();
      used = 0;
    }
    buckets_.back().push_back(k);
    used += bytes;
    largest = std::max(largest, used);
  }
  buffer_.resize(static_cast<size_t>(largest / static_cast<int64_t>(sizeof(float))));
  present_.resize(params_.size());
}

void GradientReducer::reduce(double weight) {
  if (comm_.size() == 1 && weight == 1) return;  // one rank: the gradient is already the mean
  for (size_t k = 0; k < params_.size(); ++k) present_[k] = params_[k].grad().defined() ? 1 : 0;
  comm_.allreduce_sum(present_.data(), static_cast<int64_t>(present_.size()));
  ++calls_;
  const float w = static_cast<float>(weight);
  for (const std::vector<size_t>& b : buckets_) {
    // Gradients on a device with a collective library (NCCL on CUDA): the bucket is packed,
    // summed and unpacked on the device, ordered on its stream — no host copy.
    if (DeviceAllreduce device_sum = device_allreduce_for(params_[b.front()])) {
      NoGradGuard ng;
      std::vector<Tensor> parts;
      for (size_t k : b) {
        if (!present_[k]) continue;
        const Tensor& p = params_[k];
        Tensor g = p.grad();
        LETHE_CHECK(!g.defined() || g.dtype() == DType::F32,
                    "gradient all-reduce: parameter gradients must be f32");
        parts.push_back(g.defined() ? ops::reshape(ops::mul(g, weight), {p.numel()})
                                    : Tensor::zeros({p.numel()}, DType::F32, p.device()));
      }
      if (parts.empty()) continue;
      Tensor packed = ops::concat(parts, 0);
      device_sum(comm_, packed);
      ++calls_;
      int64_t off = 0;
      for (size_t k : b) {
        if (!present_[k]) continue;
        Tensor& p = params_[k];
        p.set_grad(ops::reshape(ops::slice(packed, 0, off, off + p.numel()), p.shape()).clone());
        off += p.numel();
      }
      continue;
    }
    // Pack: the same layout on every rank (it depends only on the agreed presence flags).
    int64_t n = 0;
    for (size_t k : b) {
      if (!present_[k]) continue;
      const Tensor& p = params_[k];
      float* dst = buffer_.data() + n;
      Tensor g = p.grad();
      if (g.defined()) {
        LETHE_CHECK(g.dtype() == DType::F32,
                    "gradient all-reduce: parameter gradients must be f32");
        Tensor h = g.is_cpu() ? (g.is_contiguous() ? g : g.clone()) : g.cpu().clone();
        const float* src = h.data<float>();
        for (int64_t i = 0; i < p.numel(); ++i) dst[i] = w * src[i];
      } else {
        std::memset(dst, 0, static_cast<size_t>(p.numel()) * sizeof(float));
      }
      n += p.numel();
    }
    if (n == 0) continue;
    comm_.allreduce_sum(buffer_.data(), n);
    ++calls_;
    // Unpack into fresh tensors (a gradient may be shared with a graph value).
    n = 0;
    for (size_t k : b) {
      if (!present_[k]) continue;
      Tensor& p = params_[k];
      Tensor h = Tensor::empty(p.shape());
      std::memcpy(h.data<float>(), buffer_.data() + n,
                  static_cast<size_t>(p.numel()) * sizeof(float));
      p.set_grad(p.is_cpu() ? h : h.to(p.device()));
      n += p.numel();
    }
  }
}

void GradientReducer::broadcast_parameters() {
  if (comm_.size() == 1) return;
  for (Tensor& p : params_) {
    LETHE_CHECK(p.dtype() == DType::F32 && p.is_contiguous(),
                "parameter broadcast: parameters must be contiguous f32");
    if (p.is_cpu()) {
      comm_.broadcast(p.data<float>(), p.numel());
    } else {
      Tensor h = p.cpu().clone();
      comm_.broadcast(h.data<float>(), h.numel());
      p.copy_(h);
    }
  }
}

}  // namespace lethe::dist
