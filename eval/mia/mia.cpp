// The attack table and run_mia: the signals are computed once per set, each attack is a row
// mapping (signals, options) to its JSON.
#include "eval/mia/mia.h"

#include <sstream>

#include "engine/core/error.h"
#include "eval/mia/svc.h"
#include "eval/mia/threshold.h"

namespace lethe::eval::mia {
namespace {

struct Row {
  std::string name;
  AttackFn fn;
};

void put(nlohmann::json& j, const std::string& key, const MeanStd& m) {
  j[key] = m.mean;
  j[key + "_std"] = m.std;
}

nlohmann::json threshold_json(const ThresholdResult& r, int seeds) {
  nlohmann::json j;
  put(j, "auc", r.auc);
  put(j, "tpr_at_1pct_fpr", r.tpr_at_1pct_fpr);
  put(j, "tpr_at_0.1pct_fpr", r.tpr_at_01pct_fpr);
  put(j, "acc", r.acc);
  put(j, "auc_uncalibrated", r.auc_uncalibrated);
  j["per_side"] = r.per_side;
  j["seeds"] = seeds;
  return j;
}

AttackFn threshold_row(Signal sig) {
  return [sig](const MiaContext& ctx, const MiaOptions& opt, MiaCurves* curves) {
    ThresholdOptions to;
    to.seeds = opt.seeds;
    to.seed = opt.seed;
    const std::vector<double> test = membership_score(ctx.test, sig);
    // Non-members: the test samples of the classes the members have (all of them for a random
    // forget set; the forgotten class(es) for class-wise forgetting, where other classes' test
    // samples would measure the class, not membership).
    int64_t restricted = 0;
    auto compare = [&](const Signals& members) {
      std::vector<bool> present(ctx.classes, false);
      for (int64_t y : members.label) present[y] = true;
      std::vector<double> ns;
      std::vector<int64_t> nl;
      for (int64_t i = 0; i < ctx.test.n; ++i)
        if (present[ctx.test.label[i]]) {
          ns.push_back(test[i]);
          nl.push_back(ctx.test.label[i]);
        }
      restricted = ctx.test.n - static_cast<int64_t>(ns.size());
      return threshold_attack(membership_score(members, sig), members.label, ns, nl, ctx.classes,
                              to);
    };
    nlohmann::json j;
    std::string headline;
    std::vector<std::pair<std::string, const Signals*>> comps;
    if (ctx.has_forget) {
      comps = {{"forget_vs_test", &ctx.forget}, {"retain_vs_test", &ctx.retain}};
      headline = "forget_vs_test";
    } else {
      comps = {{"train_vs_test", &ctx.retain}};
      headline = "train_vs_test";
    }
    for (auto& [name, members] : comps) {
      ThresholdResult r = compare(*members);
      j[name] = threshold_json(r, opt.seeds);
      j[name]["test_excluded"] = restricted;
      if (curves) (*curves)[name] = std::move(r.roc);
    }
    for (const char* k : {"auc", "tpr_at_1pct_fpr", "tpr_at_0.1pct_fpr", "acc"})
      j[k] = j[headline][k];
    return j;
  };
}

AttackFn svc_row(SvcFeature f) {
  return [f](const MiaContext& ctx, const MiaOptions& opt, MiaCurves*) {
    nlohmann::json j;
    j["features"] = svc_feature_name(f);
    if (!ctx.has_forget || ctx.forget.n == 0) {
      j["skipped"] = "no forget set: SVC-MIA scores the forget set";
      return j;
    }
    SvcMiaOptions so;
    so.feature = f;
    so.seeds = opt.seeds;
    so.seed = opt.seed;
    SvcMiaResult r = svc_mia(ctx.retain, ctx.test, ctx.forget, so);
    j["efficacy"] = r.efficacy_mean;
    j["efficacy_std"] = r.efficacy_std;
    j["efficacy_per_seed"] = r.efficacy;
    j["train_acc"] = r.train_acc;
    j["per_side"] = r.per_class_size;
    j["seeds"] = opt.seeds;
    return j;
  };
}

std::vector<Row>& table() {
  static std::vector<Row> rows = [] {
    std::vector<Row> r;
    for (Signal s : {Signal::Loss, Signal::Confidence, Signal::Entropy, Signal::MEntropy})
      r.push_back({signal_name(s), threshold_row(s)});
    r.push_back({"svc", svc_row(SvcFeature::Confidence)});
    for (SvcFeature f :
         {SvcFeature::Correctness, SvcFeature::Entropy, SvcFeature::MEntropy, SvcFeature::Prob})
      r.push_back({std::string("svc-") + svc_feature_name(f), svc_row(f)});
    return r;
  }();
  return rows;
}

std::string known_list() {
  std::string s;
  for (const Row& r : table()) s += (s.empty() ? "" : ", ") + r.name;
  return s;
}

const Row* find(const std::string& name) {
  for (const Row& r : table())
    if (r.name == name) return &r;
  return nullptr;
}

}  // namespace

std::vector<std::string> mia_attack_names() {
  std::vector<std::string> v;
  for (const Row& r : table()) v.push_back(r.name);
  return v;
}

std::vector<std::string> parse_mia_attacks(const std::string& list) {
  if (list.empty()) return {};
  if (list == "all") return mia_attack_names();
  std::vector<std::string> out;
  std::stringstream ss(list);
  std::string name;
  while (std::getline(ss, name, ',')) {
    LETHE_CHECK(find(name) != nullptr, "--mia: unknown attack '", name, "' (known: all, ",
                known_list(), ")");
    out.push_back(name);
  }
  return out;
}

std::string mia_option_help() {
  return "comma list of membership attacks, or all (" + known_list() + ")";
}

nlohmann::json run_mia(const MiaInputs& in, const std::vector<std::string>& attacks,
                       const MiaOptions& opt, std::map<std::string, MiaCurves>* curves) {
  nlohmann::json out = nlohmann::json::object();
  if (attacks.empty()) return out;
  for (const std::string& a : attacks)
    LETHE_CHECK(find(a) != nullptr, "mia: unknown attack '", a, "' (known: ", known_list(), ")");
  MiaContext ctx;
  ctx.has_forget = in.has_forget;
  ctx.retain = compute_signals(in.retain_logits, in.retain_labels);
  ctx.test = compute_signals(in.test_logits, in.test_labels);
  if (in.has_forget) ctx.forget = compute_signals(in.forget_logits, in.forget_labels);
  LETHE_CHECK(ctx.retain.classes == ctx.test.classes &&
                  (!in.has_forget || ctx.forget.classes == ctx.retain.classes),
              "mia: the forget/retain/test logits have different class counts");
  ctx.classes = ctx.test.classes;
  for (const std::string& a : attacks) {
    MiaCurves c;
    out[a] = find(a)->fn(ctx, opt, curves ? &c : nullptr);
    if (curves) (*curves)[a] = std::move(c);
  }
  return out;
}

}  // namespace lethe::eval::mia
