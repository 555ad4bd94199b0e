// FGSM, PGD (L∞/L2) and AMUN's minimal-ε search in [0,1] pixel space. The model runs in eval
// mode with every parameter frozen for the duration of an attack, so backward only computes the
// input gradient (no weight gradients: they are the expensive half of a conv backward).
#include "eval/attacks/pgd.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <type_traits>
#include <vector>

#include "data/normalization.h"
#include "engine/autograd/autograd.h"
#include "engine/backend/frozen_params.h"
#include "engine/ops/ops.h"
#include "engine/profile/progress.h"
#include "eval/predict.h"

namespace lethe::eval {
namespace {

// Eval mode and frozen parameters for the lifetime of an attack; both restored afterwards. The
// backend is told the parameters do not change (FrozenParams), so it derives forms of them once.
class AttackMode {
 public:
  explicit AttackMode(models::Classifier& m)
      : m_(m), was_training_(m.is_training()), params_(parameters_of(m)), frozen_(params_) {
    for (Tensor& p : params_) {
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
  static std::vector<Tensor> parameters_of(models::Classifier& m) {
    std::vector<Tensor> ps;
    for (auto& [n, p] : m.named_parameters()) ps.push_back(p);
    return ps;
  }
  models::Classifier& m_;
  bool was_training_;
  std::vector<Tensor> params_;
  FrozenParams frozen_;  // after params_, which it is made from
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

  // A pool of at most o.batch samples in flight, each at its own ε level and step: a sample
  // that flips (or exhausts its levels) leaves and the next one from the input takes its row, so
  // every forward runs a full batch until the input is used up — with fixed batches, a batch
  // ran on for hundreds of steps with the few samples that need many doublings.
  // Per sample the arithmetic is the fixed-batch search's: `steps` steps per level, a check at
  // the end of each level (its flips recorded with that level's ε), then ε doubles.
  std::vector<int64_t> idx, level, taken;  // global index, ε level, steps taken in the level
  std::vector<double> eps;
  Tensor x0, x;  // sources and current points of the pool, on the model's device
  int64_t next = 0;
  auto refill = [&] {
    const int64_t take = std::min(n - next, o.batch - static_cast<int64_t>(idx.size()));
    if (take <= 0) return;
    std::vector<int64_t> rows;
    for (int64_t k = 0; k < take; ++k) {
      rows.push_back(next + k);
      idx.push_back(next + k);
      level.push_back(0);
      taken.push_back(0);
      eps.push_back(o.eps0);
    }
    next += take;
    Tensor fresh = rows_of(r.adv, rows).to(dev);  // r.adv holds the sources until a row finishes
    x0 = x0.defined() ? ops::concat({x0, fresh}, 0) : fresh;
    x = x.defined() ? ops::concat({x, fresh}, 0) : fresh;
  };
  refill();
  while (!idx.empty()) {
    Tensor yt = Tensor::from_vector_i64({static_cast<int64_t>(idx.size())}, [&] {
      std::vector<int64_t> v;
      for (int64_t gi : idx) v.push_back(labels[gi]);
      return v;
    }());
    Tensor logits;
    Tensor g = input_gradient(model, norm, x, yt, &logits);
    r.gradient_rows += static_cast<int64_t>(idx.size());
    const std::vector<int64_t> pred = eval::argmax_rows(logits);
    // Misclassified: done at this ε. A level's steps all taken and still correct: the next
    // level, or — after the last one — done without a flip (its final point kept).
    std::vector<uint8_t> keep(idx.size(), 1);
    std::vector<int64_t> done;
    for (size_t j = 0; j < idx.size(); ++j) {
      const bool flipped = pred[j] != labels[idx[j]];
      if (flipped || (taken[j] == o.steps && level[j] == o.max_doublings)) {
        keep[j] = 0;
        done.push_back(static_cast<int64_t>(j));
      } else if (taken[j] == o.steps) {
        ++level[j];
        taken[j] = 0;
        eps[j] *= 2;  // still classified correctly: a larger ball
      }
    }
    if (!done.empty()) {
      Tensor xf = rows_of(x, done).cpu();  // only the finished points cross to the host
      for (size_t k = 0; k < done.size(); ++k) {
        const auto j = static_cast<size_t>(done[k]);
        const int64_t gi = idx[j];
        const bool flipped = pred[j] != labels[gi];
        std::copy(xf.data<float>() + k * per, xf.data<float>() + (k + 1) * per, adv_all + gi * per);
        r.pred[gi] = pred[j];
        r.eps[gi] = eps[j];
        r.flipped[gi] = flipped ? 1 : 0;
        if (!flipped) ++r.never_flipped;
      }
      if (prog) prog->advance(static_cast<int64_t>(done.size()));
      std::vector<int64_t> rows;
      for (size_t j = 0; j < keep.size(); ++j)
        if (keep[j]) rows.push_back(static_cast<int64_t>(j));
      auto pick = [&](auto& v) {
        std::remove_reference_t<decltype(v)> out;
        for (int64_t j : rows) out.push_back(v[static_cast<size_t>(j)]);
        v = std::move(out);
      };
      pick(idx);
      pick(level);
      pick(taken);
      pick(eps);
      if (rows.empty()) {
        x0 = Tensor();
        x = Tensor();
      } else {
        x0 = rows_of(x0, rows);
        x = rows_of(x, rows);
        g = rows_of(g, rows);
      }
    }
    if (!idx.empty()) {  // one step for every sample in the pool, each with its own ε
      std::vector<float> ev(eps.begin(), eps.end());
      Tensor eps_t = Tensor::from_vector(per_sample_shape(x), ev);
      x = ops::add(x, ops::mul(per_sample_normalize(g), ops::mul(eps_t, o.step_frac)));
      x = project_l2(x, x0, eps_t, o.box);
      for (int64_t& t : taken) ++t;
    }
    refill();
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
