// LiRA and RMIA scores of a target model against cached reference models, evaluated on balanced
// member/non-member draws; see reference_mia.h for the protocol.
#include "eval/mia/reference_mia.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "data/normalization.h"
#include "data/random.h"
#include "engine/core/error.h"
#include "eval/mia/roc.h"
#include "eval/predict.h"

namespace lethe::eval::mia {

const std::vector<std::string>& reference_attack_names() {
  static const std::vector<std::string> names = {"lira-online",       "lira-offline",
                                                 "lira-online-fixed", "lira-offline-fixed",
                                                 "rmia-online",       "rmia-offline"};
  return names;
}

bool is_reference_attack(const std::string& name) {
  const auto& n = reference_attack_names();
  return std::find(n.begin(), n.end(), name) != n.end();
}

std::string split_reference_attacks(const std::string& list, bool have_references,
                                    std::vector<std::string>& reference) {
  reference.clear();
  std::string rest;
  if (list == "all") {
    rest = list;
  } else {
    std::stringstream ss(list);
    std::string name;
    while (std::getline(ss, name, ',')) {
      if (is_reference_attack(name)) {
        LETHE_CHECK(have_references, "--mia ", name,
                    " needs --references DIR (lethe train --reference-models M)");
        reference.push_back(name);
      } else {
        rest += (rest.empty() ? "" : ",") + name;
      }
    }
  }
  if (have_references && reference.empty()) reference = reference_attack_names();
  return rest;
}

namespace {

struct Draw {
  std::vector<int64_t> members, nonmembers, population;
};

Draw draw(const MiaSplit& s, uint64_t key) {
  Draw d;
  std::vector<int64_t> test = s.nonmembers, mem = s.members;
  data::shuffle_with_key(test, data::stream_key(key, data::kMiaNonmemberDraw));
  data::shuffle_with_key(mem, data::stream_key(key, data::kMiaMemberDraw));
  const size_t n = std::min(mem.size(), test.size() / 2);
  d.members.assign(mem.begin(), mem.begin() + n);
  d.nonmembers.assign(test.begin(), test.begin() + n);
  d.population.assign(test.begin() + n, test.end());
  return d;
}

std::vector<double> pick(const std::vector<double>& v, const std::vector<int64_t>& idx) {
  std::vector<double> out(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) out[i] = v[idx[i]];
  return out;
}

}  // namespace

nlohmann::json run_reference_mia(const std::vector<float>& target_logits, const ReferenceSet& refs,
                                 const std::vector<MiaSplit>& splits,
                                 const std::vector<std::string>& attacks,
                                 const ReferenceMiaOptions& opt) {
  const int64_t P = refs.pool_size(), C = refs.classes, M = refs.models;
  LETHE_CHECK(target_logits.size() == static_cast<size_t>(P * C), "reference MIA: target logits [",
              target_logits.size(), "] do not match the reference pool of ", P, " samples × ", C,
              " classes");
  LETHE_CHECK(!splits.empty(), "reference MIA: no member/non-member split given");
  LETHE_CHECK(opt.seeds >= 1, "reference MIA: seeds must be ≥ 1");
  for (const auto& a : attacks)
    LETHE_CHECK(is_reference_attack(a), "--mia: unknown reference attack '", a,
                "' (lira-online, lira-offline, lira-online-fixed, lira-offline-fixed, "
                "rmia-online, rmia-offline)");
  for (const auto& s : splits) {
    LETHE_CHECK(!s.members.empty() && s.nonmembers.size() >= 2, "reference MIA: split ", s.name,
                " needs members and at least 2 non-members");
    for (const auto* v : {&s.members, &s.nonmembers})
      for (int64_t p : *v)
        LETHE_CHECK(p >= 0 && p < P, "reference MIA: split ", s.name, ": pool index ", p,
                    " outside [0, ", P, ")");
  }

  // Per-sample signals of the target and of every reference model, computed once.
  const int64_t* y = refs.labels.data();
  bool need_lira = false, need_rmia = false;
  for (const auto& a : attacks) (a.rfind("lira", 0) == 0 ? need_lira : need_rmia) = true;
  std::vector<double> phi_t, phi_r, pr_t, pr_r;
  if (need_lira) {
    phi_t = logit_scaled_confidences(target_logits.data(), P, C, y);
    phi_r.reserve(M * P);
    for (int64_t m = 0; m < M; ++m) {
      auto v = logit_scaled_confidences(refs.logits.data() + m * P * C, P, C, y);
      phi_r.insert(phi_r.end(), v.begin(), v.end());
    }
  }
  if (need_rmia) {
    pr_t = taylor_soft_margin_probs(target_logits.data(), P, C, y, opt.soft_margin);
    pr_r.reserve(M * P);
    for (int64_t m = 0; m < M; ++m) {
      auto v = taylor_soft_margin_probs(refs.logits.data() + m * P * C, P, C, y, opt.soft_margin);
      pr_r.insert(pr_r.end(), v.begin(), v.end());
    }
  }

  std::vector<std::vector<Draw>> draws(splits.size());
  for (size_t s = 0; s < splits.size(); ++s)
    for (int64_t k = 0; k < opt.seeds; ++k)
      draws[s].push_back(draw(splits[s], data::stream_key(opt.seed, data::kReferenceMiaDraw,
                                                          static_cast<uint64_t>(k))));

  nlohmann::json out;
  for (const auto& a : attacks) {
    const bool online = a.find("online") != std::string::npos;
    const bool lira = a.rfind("lira", 0) == 0;
    std::vector<double> score;  // LiRA: per pool sample; RMIA: the LR ratio per pool sample
    if (lira) {
      LiraOptions lo;
      lo.online = online;
      lo.fixed_variance = a.find("fixed") != std::string::npos;
      score = lira_scores(phi_t, phi_r, refs.inclusion, M, lo);
    } else {
      RmiaOptions ro;
      ro.online = online;
      ro.gamma = opt.gamma;
      ro.offline_a = opt.offline_a;
      std::vector<double> px = rmia_marginal(pr_r, refs.inclusion, M, ro);
      score.resize(P);
      for (int64_t p = 0; p < P; ++p) score[p] = pr_t[p] / px[p];
    }
    nlohmann::json ja;
    for (size_t s = 0; s < splits.size(); ++s) {
      double auc = 0, t1 = 0, t01 = 0;
      nlohmann::json per_seed = nlohmann::json::array();
      for (const Draw& d : draws[s]) {
        std::vector<double> sm, sn;
        if (lira) {
          sm = pick(score, d.members);
          sn = pick(score, d.nonmembers);
        } else {
          LETHE_CHECK(!d.population.empty(), "rmia: split ", splits[s].name,
                      " leaves no test rows for the population Z");
          sm = rmia_scores(score, d.members, d.population, opt.gamma);
          sn = rmia_scores(score, d.nonmembers, d.population, opt.gamma);
        }
        std::vector<double> scores = sm;
        scores.insert(scores.end(), sn.begin(), sn.end());
        std::vector<int> labels(sm.size(), 1);
        labels.resize(scores.size(), 0);
        const double a_k = roc_auc(scores, labels);
        RocCurve c = roc_curve(scores, labels);
        auc += a_k;
        t1 += tpr_at_fpr(c, 0.01);
        t01 += tpr_at_fpr(c, 0.001);
        per_seed.push_back(a_k);
      }
      const double k = static_cast<double>(draws[s].size());
      ja[splits[s].name] = {{"auc", auc / k},
                            {"tpr_at_1pct_fpr", t1 / k},
                            {"tpr_at_0.1pct_fpr", t01 / k},
                            {"auc_per_seed", per_seed},
                            {"members", draws[s][0].members.size()},
                            {"nonmembers", draws[s][0].nonmembers.size()},
                            {"population", lira ? 0 : draws[s][0].population.size()}};
    }
    const auto& first = ja[splits[0].name];
    ja["auc"] = first["auc"];
    ja["tpr_at_1pct_fpr"] = first["tpr_at_1pct_fpr"];
    ja["tpr_at_0.1pct_fpr"] = first["tpr_at_0.1pct_fpr"];
    ja["split"] = splits[0].name;
    out[a] = ja;
  }
  return out;
}

nlohmann::json run_reference_mia_on_logits(const std::vector<float>& logits,
                                           const data::DataSplit& ds, const PoolInfo& target_pool,
                                           const std::string& dir,
                                           const std::vector<int64_t>* forget,
                                           std::vector<std::string> attacks,
                                           const ReferenceMiaOptions& opt) {
  if (attacks.empty()) attacks = reference_attack_names();
  for (const auto& a : attacks)
    LETHE_CHECK(is_reference_attack(a), "--mia: unknown reference attack '", a,
                "' (lira-online, lira-offline, lira-online-fixed, lira-offline-fixed, "
                "rmia-online, rmia-offline)");
  ReferenceSet refs = read_reference_set(dir);
  check_same_pool(refs.pool, target_pool, dir);
  const int64_t n_train = ds.train.size(), n_test = ds.test.size();
  LETHE_CHECK(refs.classes == ds.train.num_classes, "--references ", dir, ": ", refs.classes,
              " classes in the cache, ", ds.train.num_classes, " in the data");
  std::fprintf(stderr, "reference MIA: %lld reference models, pool %lld, attacks",
               static_cast<long long>(refs.models), static_cast<long long>(refs.pool_size()));
  for (const auto& a : attacks) std::fprintf(stderr, " %s", a.c_str());
  std::fprintf(stderr, "\n");
  LETHE_CHECK(logits.size() == static_cast<size_t>(refs.pool_size() * refs.classes),
              "--references ", dir, ": the model gives ", logits.size(), " logits for a pool of ",
              refs.pool_size(), " × ", refs.classes);

  std::vector<int64_t> test(n_test);
  for (int64_t i = 0; i < n_test; ++i) test[i] = n_train + i;
  std::vector<MiaSplit> splits;
  if (forget) {
    std::vector<uint8_t> is_forget(n_train, 0);
    for (int64_t i : *forget) is_forget.at(i) = 1;
    MiaSplit f{"forget_vs_test", {}, test}, r{"retain_vs_test", {}, test};
    for (int64_t i = 0; i < n_train; ++i) (is_forget[i] ? f : r).members.push_back(i);
    splits.push_back(std::move(f));
    if (!r.members.empty()) splits.push_back(std::move(r));
  } else {
    MiaSplit t{"train_vs_test", data::all_indices(ds.train), test};
    splits.push_back(std::move(t));
  }
  return run_reference_mia(logits, refs, splits, attacks, opt);
}

nlohmann::json run_reference_mia_on_model(models::Classifier& model, const data::DataSplit& ds,
                                          const data::Normalization& norm,
                                          const PoolInfo& target_pool, const std::string& dir,
                                          const std::vector<int64_t>* forget,
                                          std::vector<std::string> attacks,
                                          const ReferenceMiaOptions& opt) {
  std::vector<float> logits =
      eval::predict_logits(model, ds.train, data::all_indices(ds.train), norm).to_vector();
  std::vector<float> lt =
      eval::predict_logits(model, ds.test, data::all_indices(ds.test), norm).to_vector();
  logits.insert(logits.end(), lt.begin(), lt.end());
  return run_reference_mia_on_logits(logits, ds, target_pool, dir, forget, std::move(attacks), opt);
}

}  // namespace lethe::eval::mia
