// Robust accuracy and minimal-ε distributions over splits (eval/robust/robustness.h).
#include "eval/robust/robustness.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <optional>

#include "data/loader.h"
#include "data/normalization.h"
#include "data/random.h"
#include "engine/ops/ops.h"
#include "engine/profile/progress.h"

namespace lethe::eval {
namespace {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

int64_t count_correct(const std::vector<int64_t>& pred, const Tensor& y) {
  std::vector<int64_t> yv = y.to_vector_i64();
  int64_t c = 0;
  for (size_t i = 0; i < pred.size(); ++i) c += pred[i] == yv[i];
  return c;
}

}  // namespace

std::vector<int64_t> subsample(const std::vector<int64_t>& indices, int64_t max, uint64_t seed) {
  if (max <= 0 || static_cast<int64_t>(indices.size()) <= max) return indices;
  std::vector<int64_t> v = indices;
  data::shuffle_with_key(v, data::stream_key(seed, data::kRobustSubsample));
  v.resize(static_cast<size_t>(max));
  std::sort(v.begin(), v.end());
  return v;
}

nlohmann::json run_robustness(models::Classifier& model, const data::Normalization& norm,
                              const std::vector<EvalSplit>& splits,
                              const std::vector<AttackSpec>& attacks, const RobustOptions& opt,
                              std::vector<MinEpsSamples>* min_eps_out) {
  nlohmann::json out = nlohmann::json::object();
  for (const AttackSpec& a : attacks) {
    nlohmann::json ja;
    ja["spec"] = a.text;
    if (a.kind != AttackKind::MinEps) {
      ja["eps"] = a.pgd.eps;
      ja["norm"] = a.kind == AttackKind::Fgsm || a.pgd.norm == Norm::Linf ? "linf" : "l2";
      if (a.kind == AttackKind::Pgd) {
        ja["steps"] = a.pgd.steps;
        ja["step"] = a.pgd.step;
        ja["random_start"] = a.pgd.random_start;
      }
    }
    nlohmann::json js = nlohmann::json::object();
    for (const EvalSplit& s : splits) {
      std::vector<int64_t> idx = subsample(s.indices, opt.max_samples, opt.seed);
      if (idx.empty()) continue;
      data::LoaderOptions lo;
      lo.batch_size = a.kind == AttackKind::MinEps ? a.min_eps.batch : opt.batch;
      lo.shuffle = false;
      data::Loader loader(*s.data, idx, lo);
      data::Batch b;
      int64_t clean = 0, robust = 0, n = 0;
      MinEpsSamples me;
      me.split = s.name;
      std::vector<Tensor> me_x, me_y;  // the split's batches, for one min-eps search
      std::optional<profile::Progress> prog;
      // (min-eps: the search shows its own progress, over the whole split)
      if (opt.progress && a.kind != AttackKind::MinEps)
        prog.emplace(a.name + " " + s.name, static_cast<int64_t>(idx.size()));
      int64_t batch_no = 0;
      InputBox box;
      box.clamp = s.data->is_image();
      while (loader.next(b)) {
        std::vector<int64_t> pred0 = predict(model, norm, b.x);
        clean += count_correct(pred0, b.y);
        if (a.kind == AttackKind::MinEps) {
          // Collected and searched once per split below: the search's pool then stays full
          // while samples finish at different levels, instead of draining batch by batch.
          me_x.push_back(b.x);
          me_y.push_back(b.y);
          me.indices.insert(me.indices.end(), b.indices.begin(), b.indices.end());
        } else {
          Tensor adv;
          if (a.kind == AttackKind::Fgsm) {
            adv = fgsm(model, norm, b.x, b.y, a.pgd.eps, box);
          } else {
            PgdOptions po = a.pgd;
            po.box = box;
            po.seed =
                data::mix64(a.pgd.seed ^ static_cast<uint64_t>(batch_no));  // new start per batch
            adv = pgd(model, norm, b.x, b.y, po);
          }
          robust += count_correct(predict(model, norm, adv), b.y);
        }
        n += b.y.numel();
        ++batch_no;
        if (prog) prog->advance(b.y.numel());
      }
      if (a.kind == AttackKind::MinEps && !me_x.empty()) {
        MinEpsOptions mo = a.min_eps;
        mo.progress = opt.progress;
        mo.box = box;
        const Tensor ys = ops::concat(me_y, 0);
        MinEpsResult r = minimal_eps_search(model, norm, ops::concat(me_x, 0), ys, mo);
        robust += count_correct(r.pred, ys);
        me.eps = r.eps;
        me.dist = r.dist;
        me.flipped = r.flipped;
      }
      nlohmann::json r;
      r["n"] = n;
      r["clean_acc"] = 100.0 * static_cast<double>(clean) / static_cast<double>(n);
      if (a.kind == AttackKind::MinEps) {
        int64_t never = 0;
        for (uint8_t f : me.flipped) never += f == 0;
        r["eps_mean"] = me.eps.empty() ? 0.0
                                       : std::accumulate(me.eps.begin(), me.eps.end(), 0.0) /
                                             static_cast<double>(me.eps.size());
        r["eps_median"] = quantile(me.eps, 0.5);
        r["eps_p10"] = quantile(me.eps, 0.1);
        r["eps_p90"] = quantile(me.eps, 0.9);
        r["dist_median"] = quantile(me.dist, 0.5);
        r["dist_mean"] = me.dist.empty() ? 0.0
                                         : std::accumulate(me.dist.begin(), me.dist.end(), 0.0) /
                                               static_cast<double>(me.dist.size());
        r["never_flipped"] = never;
        if (min_eps_out) min_eps_out->push_back(std::move(me));
      } else {
        r["acc"] = 100.0 * static_cast<double>(robust) / static_cast<double>(n);
      }
      if (n < static_cast<int64_t>(s.indices.size())) r["of"] = s.indices.size();
      js[s.name] = r;
    }
    ja["splits"] = js;
    // The headline numbers are those of the first split (test, by convention of the caller).
    if (!splits.empty() && js.contains(splits[0].name)) {
      const nlohmann::json& first = js[splits[0].name];
      ja["clean_acc"] = first["clean_acc"];
      if (first.contains("acc")) ja["acc"] = first["acc"];
      if (first.contains("dist_median")) ja["dist_median"] = first["dist_median"];
    }
    out[out.contains(a.name) ? a.text : a.name] = ja;  // two budgets of one attack: by spec
  }
  return out;
}

}  // namespace lethe::eval
