// FGSM, PGD (L∞/L2) and AMUN's minimal-ε search in [0,1] pixel space. The model runs in eval
// mode with every parameter frozen for the duration of an attack, so backward only computes the
// input gradient (no weight gradients: they are the expensive half of a conv backward).
#include "eval/attacks/pgd.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "data/normalization.h"
#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"
#include "engine/profile/progress.h"
#include "eval/predict.h"

namespace lethe::eval {
namespace {

// Eval mode and frozen parameters for the lifetime of an attack; both restored afterwards.
class AttackMode {
 public:
  explicit AttackMode(models::Classifier& m) : m_(m), was_training_(m.is_training()) {
    for (auto& [n, p] : m.named_parameters()) {
      params_.push_back(p);
      flags_.push_back(p.requires_grad());
      p.set_requires_grad(false);
    }
    m.train(false);
  }
  ~AttackMode() {
    for (size_t i = 0; i < params_.size(); ++i) params_[i].set_requires_grad(flags_[i]);
    m_.train(was_training_);
  }
  AttackMode(const AttackMode&) = delete;
  AttackMode& operator=(const AttackMode&) = delete;

 private:
  models::Classifier& m_;
  bool was_training_;
  std::vector<Tensor> params_;
  std::vector<bool> flags_;
};

Tensor logits_of(models::Classifier& model, const data::Normalization& norm, const Tensor& x01) {
  return model.forward(norm.apply(x01));
}

Tensor in_box(const Tensor& x, const InputBox& box) {
  return box.clamp ? ops::clamp(x, box.lo, box.hi) : x;
}

// Shape [B, 1, ..., 1] matching x's rank (per-sample scalars that broadcast against x).
Shape per_sample_shape(const Tensor& x) {
  Shape s(static_cast<size_t>(x.dim()), 1);
  s[0] = x.size(0);
  return s;
}

// Projects x onto the L2 ball of per-sample radius `eps` ([B,1,..,1]) around x0, then the box.
Tensor project_l2(const Tensor& x, const Tensor& x0, const Tensor& eps, const InputBox& box) {
  Tensor delta = ops::sub(x, x0);
  Tensor n = per_sample_l2_norm(delta);
  // factor = min(ε/‖δ‖, 1); a zero δ gets factor 1 (ε/tiny is huge).
  Tensor factor = ops::minimum(ops::div(eps, ops::add(n, 1e-12)), Tensor::ones(n.shape()));
  return in_box(ops::add(x0, ops::mul(delta, factor)), box);
}

Tensor rows_of(const Tensor& x, const std::vector<int64_t>& rows) {
  return ops::index_select(x, rows);
}

}  // namespace

Tensor per_sample_l2_norm(const Tensor& x) {
  LETHE_CHECK(x.dim() >= 1, "per_sample_l2_norm: needs a batch dimension");
  Tensor flat = ops::reshape(x, {x.size(0), -1});
  Tensor n = ops::sqrt(ops::sum(ops::square(flat), {1}, /*keepdim=*/true));  // [B,1]
  return ops::reshape(n, per_sample_shape(x));
}

Tensor per_sample_normalize(const Tensor& x, double tiny) {
  return ops::div(x, ops::add(per_sample_l2_norm(x), tiny));
}

Tensor input_gradient(models::Classifier& model, const data::Normalization& norm, const Tensor& x01,
                      const Tensor& y, Tensor* logits) {
  EnableGradGuard eg;
  Tensor x = x01.detach().clone();
  x.set_requires_grad(true);
  Tensor out = logits_of(model, norm, x);
  Tensor loss = ops::cross_entropy(out, y, ops::Reduction::Sum);
  Tensor g = lethe::grad(loss, {x})[0];
  if (logits) *logits = out.detach();
  return g;
}

std::vector<double> per_sample_loss(models::Classifier& model, const data::Normalization& norm,
                                    const Tensor& x01, const Tensor& y) {
  AttackMode am(model);
  NoGradGuard ng;
  Tensor l = ops::cross_entropy(logits_of(model, norm, x01), y, ops::Reduction::None);
  return l.to_vector_f64();
}

std::vector<int64_t> predict(models::Classifier& model, const data::Normalization& norm,
                             const Tensor& x01) {
  AttackMode am(model);
  NoGradGuard ng;
  return eval::argmax_rows(logits_of(model, norm, x01));
}

Tensor fgsm(models::Classifier& model, const data::Normalization& norm, const Tensor& x01,
            const Tensor& y, double eps, const InputBox& box) {
  AttackMode am(model);
  Tensor g = input_gradient(model, norm, x01, y);
  NoGradGuard ng;
  return in_box(ops::add(x01, ops::mul(ops::sign(g), eps)), box).detach();
}

Tensor pgd(models::Classifier& model, const data::Normalization& norm, const Tensor& x01,
           const Tensor& y, const PgdOptions& o) {
  LETHE_CHECK(o.eps >= 0 && o.step >= 0 && o.steps >= 0, "pgd: eps, step and steps must be ≥ 0");
  AttackMode am(model);
  NoGradGuard ng;
  Tensor x0 = x01.detach().clone();
  Tensor eps_t = Tensor::full(per_sample_shape(x0), o.eps);
  Tensor x = x0;
  if (o.random_start && o.eps > 0) {
    if (o.norm == Norm::Linf) {
      x = ops::add(x0, Tensor::uniform(x0.shape(), -o.eps, o.eps, o.seed));
    } else {
      // A uniform direction, at a radius drawn uniformly in [0, ε].
      Tensor dir = per_sample_normalize(Tensor::randn(x0.shape(), o.seed));
      Tensor r = Tensor::uniform(per_sample_shape(x0), 0, o.eps, o.seed ^ 0x5bd1e995ULL);
      x = ops::add(x0, ops::mul(dir, r));
    }
    x = in_box(x, o.box);
  }
  for (int64_t s = 0; s < o.steps; ++s) {
    Tensor g = input_gradient(model, norm, x, y);
    if (o.norm == Norm::Linf) {
      x = ops::add(x, ops::mul(ops::sign(g), o.step));
      x = in_box(ops::add(x0, ops::clamp(ops::sub(x, x0), -o.eps, o.eps)), o.box);
    } else {
      x = ops::add(x, ops::mul(per_sample_normalize(g), o.step));
      x = project_l2(x, x0, eps_t, o.box);
    }
  }
  return x.detach();
}

MinEpsResult minimal_eps_search(models::Classifier& model, const data::Normalization& norm,
                                const Tensor& x01, const Tensor& y, const MinEpsOptions& o) {
  LETHE_CHECK(x01.dim() >= 2 && y.dim() == 1 && x01.size(0) == y.size(0),
              "minimal_eps_search: inputs ", shape_str(x01.shape()), " and labels ",
              shape_str(y.shape()), " do not match");
  LETHE_CHECK(o.eps0 > 0 && o.steps > 0 && o.batch > 0 && o.max_doublings >= 0,
              "minimal_eps_search: eps0, steps and batch must be positive");
  AttackMode am(model);
  NoGradGuard ng;
  const int64_t n = x01.size(0);
  MinEpsResult r;
  // The search's table of results stays on the host (it is the output, read once per finished
  // sample); the points being searched live on the model's device.
  const Device dev = model.device();
  r.adv = x01.detach().cpu().to(DType::F32);
  r.pred.assign(static_cast<size_t>(n), -1);
  r.eps.assign(static_cast<size_t>(n), o.eps0);
  r.dist.assign(static_cast<size_t>(n), 0.0);
  r.flipped.assign(static_cast<size_t>(n), 0);
  const std::vector<int64_t> labels = y.to_vector_i64();
  const int64_t per = x01.numel() / std::max<int64_t>(n, 1);
  float* adv_all = r.adv.data<float>();
  std::unique_ptr<profile::Progress> prog;
  if (o.progress) prog = std::make_unique<profile::Progress>("adversarial search", n);

  for (int64_t start = 0; start < n; start += o.batch) {
    const int64_t end = std::min(n, start + o.batch);
    // The active samples: global indices, their sources, current points, labels and ε.
    std::vector<int64_t> idx;
    for (int64_t i = start; i < end; ++i) idx.push_back(i);
    Tensor x0 = rows_of(r.adv, idx).to(dev);  // r.adv still holds the sources here
    Tensor x = x0;
    std::vector<double> eps(idx.size(), o.eps0);

    // Records sample j of the active set as finished at point xj with prediction p.
    auto finish = [&](size_t j, const float* xj, int64_t p, bool flipped) {
      int64_t gi = idx[j];
      std::copy(xj, xj + per, adv_all + gi * per);
      r.pred[gi] = p;
      r.eps[gi] = eps[j];
      r.flipped[gi] = flipped ? 1 : 0;
    };
    // Drops finished samples (keep[j] == false) from the active set.
    auto compact = [&](const std::vector<uint8_t>& keep, Tensor* g) {
      std::vector<int64_t> rows, nidx;
      std::vector<double> neps;
      for (size_t j = 0; j < keep.size(); ++j)
        if (keep[j]) {
          rows.push_back(static_cast<int64_t>(j));
          nidx.push_back(idx[j]);
          neps.push_back(eps[j]);
        }
      if (rows.size() == keep.size()) return;
      idx = nidx;
      eps = neps;
      if (rows.empty()) return;
      x0 = rows_of(x0, rows);
      x = rows_of(x, rows);
      if (g) *g = rows_of(*g, rows);
    };
    // Forward at the current points: samples now misclassified stop here. Returns the input
    // gradient of the remaining ones (when `want_grad`).
    auto check = [&](bool want_grad) {
      Tensor yt = Tensor::from_vector_i64({static_cast<int64_t>(idx.size())}, [&] {
        std::vector<int64_t> v;
        for (int64_t gi : idx) v.push_back(labels[gi]);
        return v;
      }());
      Tensor logits, g;
      if (want_grad) {
        g = input_gradient(model, norm, x, yt, &logits);
      } else {
        logits = logits_of(model, norm, x);
      }
      std::vector<int64_t> pred = eval::argmax_rows(logits);
      std::vector<uint8_t> keep(idx.size(), 1);
      std::vector<int64_t> flipped;
      for (size_t j = 0; j < idx.size(); ++j)
        if (pred[j] != labels[idx[j]]) {
          flipped.push_back(static_cast<int64_t>(j));
          keep[j] = 0;
        }
      const auto done = static_cast<int64_t>(flipped.size());
      if (done) {
        // Only the finished points cross to the host.
        Tensor xf = rows_of(x, flipped).cpu();
        for (int64_t k = 0; k < done; ++k)
          finish(static_cast<size_t>(flipped[k]), xf.data<float>() + k * per, pred[flipped[k]],
                 true);
      }
      if (prog && done) prog->advance(done);
      compact(keep, want_grad ? &g : nullptr);
      return g;
    };

    for (int64_t level = 0; level <= o.max_doublings && !idx.empty(); ++level) {
      for (int64_t s = 0; s < o.steps && !idx.empty(); ++s) {
        Tensor g = check(true);
        if (idx.empty()) break;
        std::vector<float> ev(eps.begin(), eps.end());
        Tensor eps_t = Tensor::from_vector(per_sample_shape(x), ev);
        Tensor step = ops::mul(eps_t, o.step_frac);
        x = ops::add(x, ops::mul(per_sample_normalize(g), step));
        x = project_l2(x, x0, eps_t, o.box);
      }
      // Flips caused by the level's last step are recorded with this level's ε.
      if (!idx.empty()) check(false);
      if (level < o.max_doublings)
        for (double& e : eps) e *= 2;  // still classified correctly: a larger ball
    }
    if (!idx.empty()) {
      // Never flipped within eps0·2^max_doublings: keep the final point, report it.
      std::vector<int64_t> pred = eval::argmax_rows(logits_of(model, norm, x));
      Tensor xc = ops::contiguous(x).cpu();
      for (size_t j = 0; j < idx.size(); ++j) {
        finish(j, xc.data<float>() + j * per, pred[j], false);
        ++r.never_flipped;
      }
      if (prog) prog->advance(static_cast<int64_t>(idx.size()));
    }
  }
  // Distances from the sources, in double.
  std::vector<float> src = x01.to_vector();
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t j = 0; j < per; ++j) {
      double d = static_cast<double>(adv_all[i * per + j]) - src[i * per + j];
      s += d * d;
    }
    r.dist[i] = std::sqrt(s);
  }
  if (prog) {
    char status[96];
    std::snprintf(status, sizeof status, "%lld never flipped",
                  static_cast<long long>(r.never_flipped));
    prog->finish(status);
  }
  return r;
}

}  // namespace lethe::eval
