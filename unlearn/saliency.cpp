// SalUn's saliency mask and its enforcement after optimizer steps (see saliency.h). The reference
// code masks gradients before the step; with weight decay and momentum that still moves masked
// weights, so Lethe restores them after the step instead: masked weights stay bit-identical.
#include "unlearn/saliency.h"

#include <algorithm>
#include <cmath>

#include "data/loader.h"
#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "unlearn/scope.h"

namespace lethe::unlearn {

nlohmann::json SaliencyMask::to_json() const {
  return {{"ratio", ratio}, {"kept", kept}, {"total", total}};
}

double saliency_ratio(const UnlearnContext& ctx, double def) {
  double r = ctx.opt.extra_or("ratio", def);
  LETHE_CHECK(r > 0 && r <= 1, "--opt ratio=", r, ": the saliency ratio must lie in (0, 1]");
  return r;
}

void rank_saliency(SaliencyMask& mask, const std::vector<Tensor>& grads, double ratio) {
  LETHE_CHECK(grads.size() == mask.params.size(), "saliency: ", grads.size(), " gradients for ",
              mask.params.size(), " parameters");
  std::vector<float> score;
  for (size_t i = 0; i < grads.size(); ++i) {
    int64_t n = mask.params[i].numel();
    if (!grads[i].defined()) {
      score.insert(score.end(), static_cast<size_t>(n), 0.f);
      continue;
    }
    std::vector<float> g = grads[i].to_vector();
    for (float v : g) score.push_back(std::fabs(v));
  }
  const auto total = static_cast<int64_t>(score.size());
  const auto k = std::min<int64_t>(total, std::llround(ratio * static_cast<double>(total)));
  // Threshold t = the k-th largest score: keep every score > t, then the first (by flat index)
  // of those equal to t until k are kept.
  int64_t above = 0;
  float t = 0;
  if (k > 0) {
    std::vector<float> tmp = score;
    std::nth_element(tmp.begin(), tmp.begin() + (k - 1), tmp.end(), std::greater<float>());
    t = tmp[static_cast<size_t>(k - 1)];
    for (float v : score) above += v > t;
  }
  int64_t ties_left = k - above;
  mask.keep.assign(grads.size(), {});
  mask.kept = 0;
  mask.total = total;
  mask.ratio = ratio;
  size_t flat = 0;
  for (size_t i = 0; i < grads.size(); ++i) {
    auto n = static_cast<size_t>(mask.params[i].numel());
    std::vector<uint8_t>& m = mask.keep[i];
    m.assign(n, 0);
    for (size_t j = 0; j < n; ++j, ++flat) {
      float v = score[flat];
      if (k == 0) continue;
      if (v > t) {
        m[j] = 1;
      } else if (v == t && ties_left > 0) {
        m[j] = 1;
        --ties_left;
      }
      mask.kept += m[j];
    }
  }
}

SaliencyMask saliency_mask(UnlearnContext& ctx, double ratio) {
  LETHE_CHECK(!ctx.split.forget.empty(), "saliency mask: the forget set is empty");
  models::Classifier& model = *ctx.model;
  SaliencyMask mask;
  mask.params = trainable_parameters(model);
  std::vector<Tensor> sum(mask.params.size());
  bool was_training = model.is_training();
  model.train(false);  // as the reference: gradients of the trained model, BN running statistics
  data::LoaderOptions lo;
  lo.batch_size = ctx.opt.batch;
  lo.shuffle = false;
  data::Loader loader(*ctx.train, ctx.split.forget, lo);
  data::Batch b;
  {
    EnableGradGuard eg;
    while (loader.next(b)) {
      b.move_to(model.device());
      Tensor logits = model.forward(ctx.norm.apply(b.x));
      // Summed over samples: the gradient of the forget loss summed over D_F (the reference sums
      // per-batch means, the same ranking up to a partial last batch).
      Tensor loss = ops::cross_entropy(logits, b.y, ops::Reduction::Sum);
      std::vector<Tensor> g = lethe::grad(loss, mask.params);
      NoGradGuard ng;
      for (size_t i = 0; i < g.size(); ++i)
        sum[i] = sum[i].defined() ? ops::add(sum[i], g[i]) : g[i].detach();
    }
  }
  model.train(was_training);
  rank_saliency(mask, sum, ratio);
  return mask;
}

MaskEnforcer::MaskEnforcer(const SaliencyMask& mask, optim::Optimizer& opt)
    : mask_(mask), opt_(opt) {
  for (size_t i = 0; i < mask.params.size(); ++i) {
    const Tensor& p = mask.params[i];
    LETHE_CHECK(p.is_contiguous() && p.dtype() == DType::F32,
                "saliency mask: parameters must be contiguous f32");
    // The mask and the original values live where the parameter does (one upload each), so
    // the restore after every step runs there without a copy over the bus.
    Tensor keep = Tensor::empty(p.shape(), DType::U8);
    std::copy(mask.keep[i].begin(), mask.keep[i].end(), keep.data<uint8_t>());
    keep_.push_back(keep.to(p.device()));
    NoGradGuard ng;
    frozen_.push_back(p.detach().clone());
  }
}

void MaskEnforcer::after_step() {
  NoGradGuard ng;
  for (size_t i = 0; i < mask_.params.size(); ++i) {
    Tensor p = mask_.params[i];
    p.copy_(ops::where(keep_[i], p.detach(), frozen_[i]));
    Tensor buf = opt_.state_tensor(p, "momentum_buffer");
    if (buf.defined()) {
      if (!zeros_.count(i)) zeros_[i] = Tensor::zeros(buf.shape(), buf.dtype(), buf.device());
      buf.copy_(ops::where(keep_[i], buf, zeros_[i]));
    }
  }
}

}  // namespace lethe::unlearn
