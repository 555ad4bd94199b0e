#include "eval/run_eval.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <tuple>

#include "data/forget.h"
#include "data/normalization.h"
#include "data/spec.h"
#include "engine/backend/backend.h"
#include "engine/backend/device_options.h"
#include "engine/backend/system_info.h"
#include "engine/io/run_dir.h"
#include "engine/ops/ops.h"
#include "eval/accuracy.h"
#include "eval/group_fairness.h"
#include "eval/layer_effect.h"
#include "eval/mia/mia.h"
#include "eval/mia/reference_mia.h"
#include "eval/norm_stats.h"
#include "eval/predict.h"
#include "eval/report/svg.h"
#include "eval/robust/robustness.h"
#include "models/checkpoint.h"
#include "models/ensemble.h"

namespace lethe::eval {
namespace {

// min_eps.csv and min_eps.svg from the per-sample minimal ε of each split.
void write_min_eps(const std::string& dir, const std::vector<MinEpsSamples>& me) {
  std::string csv = "split,index,eps,dist,flipped\n";
  std::vector<std::pair<std::string, std::vector<double>>> dists;
  double hi = 0;
  for (const auto& s : me) {
    for (size_t i = 0; i < s.eps.size(); ++i)
      csv += s.split + "," + std::to_string(s.indices[i]) + "," + std::to_string(s.eps[i]) + "," +
             std::to_string(s.dist[i]) + "," + std::to_string(s.flipped[i]) + "\n";
    dists.emplace_back(s.split, s.dist);
    for (double d : s.dist) hi = std::max(hi, d);
  }
  io::write_text_atomic(dir + "/min_eps.csv", csv);
  svg::HistogramOptions mh;
  mh.title = "minimal adversarial distance (AMUN search, L2)";
  mh.xlabel = "||x_adv - x||_2";
  mh.hi = hi > 0 ? hi : 1;
  io::write_text_atomic(dir + "/min_eps.svg", svg::histogram(dists, mh));
}

// roc.svg: one curve per table attack on its headline comparison, log-log (low FPR matters).
void write_roc(const std::string& dir, const std::map<std::string, mia::MiaCurves>& curves,
               const std::string& comparison) {
  std::vector<svg::Series> series;
  for (const auto& [attack, by_cmp] : curves) {
    auto it = by_cmp.find(comparison);
    if (it == by_cmp.end()) continue;
    series.push_back({attack, it->second.fpr, it->second.tpr});
  }
  if (series.empty()) return;
  svg::LineOptions lo;
  lo.title = "membership inference ROC (" + comparison + ", first seed)";
  lo.xlabel = "false positive rate";
  lo.ylabel = "true positive rate";
  lo.log_x = lo.log_y = true;
  lo.x_min = lo.y_min = 1e-3;
  lo.diagonal = true;
  io::write_text_atomic(dir + "/roc.svg", svg::line_plot(series, lo));
}

// fairness_gap.svg: the primary gap per normalization layer, in forward order.
void write_fairness_plot(const std::string& dir, const nlohmann::json& bn) {
  std::vector<std::string> names;
  std::vector<double> gaps;
  for (const auto& n : bn.at("order")) {
    names.push_back(n.get<std::string>());
    gaps.push_back(bn["layers"][names.back()].at("fairness_gap").get<double>());
  }
  if (names.empty()) return;
  svg::BarOptions bo;
  bo.title = "fairness gap per layer (max - min over classes of the input std), " +
             bn.value("split", std::string());
  bo.ylabel = "fairness gap";
  io::write_text_atomic(dir + "/fairness_gap.svg",
                        svg::bar_chart(names, {{"fairness gap", gaps}}, bo));
}

// The members' normalization statistics as one bn_stats: member 0's structure, each layer's
// fairness_gap replaced by the mean over members, with fairness_gap_member_min/max/std beside it
// and the members' own gaps; mean_fairness_gap likewise.
nlohmann::json average_member_stats(const std::vector<nlohmann::json>& per) {
  nlohmann::json out = per[0];
  out["members"] = per.size();
  if (!out["mean_fairness_gap"].is_number()) return out;  // no normalization layers
  const double k = static_cast<double>(per.size());
  auto summarize = [&](nlohmann::json& dst, const std::vector<double>& v) {
    double mean = 0, sq = 0, lo = v[0], hi = v[0];
    for (double x : v) mean += x / k;
    for (double x : v) {
      sq += (x - mean) * (x - mean) / k;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    dst["fairness_gap"] = mean;
    dst["fairness_gap_member_std"] = std::sqrt(sq);
    dst["fairness_gap_member_min"] = lo;
    dst["fairness_gap_member_max"] = hi;
    dst["fairness_gap_members"] = v;
  };
  for (auto& [name, layer] : out["layers"].items()) {
    std::vector<double> v;
    for (const auto& p : per) v.push_back(p["layers"][name]["fairness_gap"].get<double>());
    summarize(layer, v);
  }
  std::vector<double> means;
  for (const auto& p : per) means.push_back(p["mean_fairness_gap"].get<double>());
  nlohmann::json top;
  summarize(top, means);
  out["mean_fairness_gap"] = top["fairness_gap"];
  out["mean_fairness_gap_member_std"] = top["fairness_gap_member_std"];
  return out;
}

}  // namespace

nlohmann::json run_eval(const EvalRequest& req) {
  namespace fs = std::filesystem;
  auto t0 = std::chrono::steady_clock::now();
  if (req.threads > 0) omp_set_num_threads(req.threads);
  LETHE_CHECK(req.forget.empty() || req.forget_file.empty(),
              "--forget and --forget-file are exclusive");
  LETHE_CHECK(req.attack_samples >= 0, "--attack-samples must be >= 0, got ", req.attack_samples);
  std::vector<AttackSpec> attacks;
  if (!req.attack.empty()) attacks = parse_attack_specs(req.attack, "--attack");
  nlohmann::json cfg = io::read_json(req.from + "/config.json");
  // What the run answers queries with: its model, or for a SISA run the shards' ensemble.
  models::Checkpoint ck = models::load_run_model(req.from);
  auto* ensemble = dynamic_cast<models::Ensemble*>(ck.model.get());
  data::Normalization norm = data::Normalization::from_run(ck.metadata, cfg);
  std::string spec = req.data.empty() ? cfg.at("data").get<std::string>() : req.data;
  // The training set is the original run's: its seed and --subset rows. An unlearning run
  // records the original's seed; its subset is followed back through "from" when absent.
  uint64_t seed = cfg.value("original_seed", cfg.value("seed", uint64_t{0}));
  int64_t run_subset = cfg.value("subset", int64_t{-1});
  nlohmann::json c = cfg;
  for (int hops = 0; run_subset < 0; ++hops) {
    if (hops > 16 || !c.contains("from") ||
        !fs::exists(c["from"].get<std::string>() + "/config.json")) {
      run_subset = 0;
      break;
    }
    c = io::read_json(c["from"].get<std::string>() + "/config.json");
    run_subset = c.value("subset", int64_t{-1});
  }
  data::DataSplit ds = data::load_training_data(spec, seed, req.data.empty() ? run_subset : 0);
  std::vector<std::string> ref_attacks;
  std::vector<std::string> mia_attacks = mia::parse_mia_attacks(
      mia::split_reference_attacks(req.mia, !req.references.empty(), ref_attacks));

  std::vector<int64_t> forget;
  bool have_forget = true;
  if (!req.forget.empty())
    forget = data::make_forget_split(req.forget, ds.train, seed).forget;
  else if (!req.forget_file.empty())
    forget = data::read_index_file(req.forget_file, ds.train.size());
  else if (fs::exists(req.from + "/forget.txt"))
    forget = data::read_index_file(req.from + "/forget.txt", ds.train.size());
  else
    have_forget = false;
  LETHE_CHECK(!req.norm_stats || have_forget || req.norm_stats_split == "test" ||
                  req.norm_stats_split == "train",
              "--bn-stats-split ", req.norm_stats_split,
              " needs a forget set (--forget, --forget-file or the run's forget.txt)");
  data::ForgetSplit split;
  if (have_forget)
    split = data::split_from_forget(forget, ds.train.size(), "forget set");
  else
    split.retain = data::all_indices(ds.train);
  LETHE_CHECK(req.reference.empty() || !req.against.empty(),
              "--reference needs --against ORIGINAL (the changes are measured from the original)");
  LETHE_CHECK(req.against.empty() || !ensemble, "--against: ", req.from,
              " answers queries with an ensemble of shards; per-layer effect needs one model");
  LETHE_CHECK(req.against.empty() || have_forget || req.norm_stats_split == "test" ||
                  req.norm_stats_split == "train",
              "--bn-stats-split ", req.norm_stats_split,
              " needs a forget set (--forget, --forget-file or the run's forget.txt)");
  LETHE_CHECK(req.references.empty() || fs::exists(req.references + "/logits.safetensors"),
              "--references ", req.references,
              ": no logits.safetensors (train it with lethe train --reference-models M)");
  io::prepare_run_dir(req.out, req.overwrite);
  if (have_forget) data::write_index_file(req.out + "/forget.txt", split.forget);

  auto& model = *ck.model;
  const int64_t classes = ds.train.num_classes;
  // The splits; each one's logits are computed once for accuracy, confidence and MIA.
  std::vector<EvalSplit> splits{{"test", &ds.test, data::all_indices(ds.test)}};
  if (have_forget) {
    splits.push_back({"forget", &ds.train, split.forget});
    splits.push_back({"retain", &ds.train, split.retain});
  } else {
    splits.push_back({"train", &ds.train, split.retain});
  }
  // Logits once per dataset, in row order: each split takes its rows from them, and the
  // reference attacks read them as the pool (training rows, then test rows).
  Tensor train_logits = eval::predict_logits(model, ds.train, data::all_indices(ds.train), norm);
  Tensor test_logits = eval::predict_logits(model, ds.test, data::all_indices(ds.test), norm);
  nlohmann::json m, per_class;
  std::vector<std::pair<Tensor, std::vector<int64_t>>> parts;  // per split: logits, labels
  std::vector<std::pair<std::string, std::vector<double>>> confidences;
  for (const EvalSplit& s : splits) {
    Tensor logits = s.data == &ds.test  ? test_logits
                    : s.indices.empty() ? Tensor::zeros({0, 0})
                                        : ops::index_select(train_logits, s.indices);
    std::vector<int64_t> y;
    const int64_t* lab = s.data->labels.data<int64_t>();
    for (int64_t i : s.indices) y.push_back(lab[i]);
    SplitAccuracy a = split_accuracy(logits, y, classes);
    m[s.name + "_acc"] = a.acc;
    per_class[s.name] = to_json(a);
    confidences.emplace_back(s.name, std::move(a.confidence));
    parts.emplace_back(logits, std::move(y));
  }
  // Group fairness on every split when the data has a protected attribute (csv protected=COL).
  if (ds.train.has_protected() && ds.test.has_protected()) {
    std::vector<FairnessSplit> fsplits;
    for (size_t i = 0; i < splits.size(); ++i)
      fsplits.push_back(
          {splits[i].name, splits[i].data, splits[i].indices,
           parts[i].first.numel() ? argmax_rows(parts[i].first) : std::vector<int64_t>{}});
    if (have_forget)  // the whole training set too, beside its forget and retain parts
      fsplits.push_back(
          {"train", &ds.train, data::all_indices(ds.train), argmax_rows(train_logits)});
    m["fairness"] = fairness_json(fsplits);
  }
  // splits: test, then forget and retain (or train).
  mia::MiaInputs mi;
  mi.has_forget = have_forget;
  std::tie(mi.test_logits, mi.test_labels) = parts[0];
  std::tie(mi.retain_logits, mi.retain_labels) = parts.back();
  if (have_forget) std::tie(mi.forget_logits, mi.forget_labels) = parts[1];
  m["per_class"] = per_class;
  svg::HistogramOptions ho;
  ho.title = "confidence p(y|x) on the true label";
  ho.xlabel = "confidence";
  io::write_text_atomic(req.out + "/confidence.svg", svg::histogram(confidences, ho));

  if (!mia_attacks.empty()) {
    std::map<std::string, mia::MiaCurves> curves;
    m["mia"] = mia::run_mia(mi, mia_attacks, {}, &curves);
    write_roc(req.out, curves, have_forget ? "forget_vs_test" : "train_vs_test");
  }
  if (!req.references.empty()) {
    int64_t subset = req.data.empty() ? run_subset : 0;
    std::vector<float> pool = train_logits.to_vector(), tl = test_logits.to_vector();
    pool.insert(pool.end(), tl.begin(), tl.end());
    nlohmann::json r = mia::run_reference_mia_on_logits(
        pool, ds, mia::pool_info(ds, spec, subset, seed), req.references,
        have_forget ? &split.forget : nullptr, ref_attacks);
    if (!m.contains("mia")) m["mia"] = nlohmann::json::object();
    m["mia"].update(r);
    m["mia_references"] = req.references;
  }
  if (!attacks.empty()) {
    RobustOptions ro;
    ro.max_samples = req.attack_samples;
    ro.seed = seed;
    std::vector<MinEpsSamples> me;
    m["robust"] = run_robustness(model, norm, splits, attacks, ro, &me);
    if (!me.empty()) write_min_eps(req.out, me);
  }
  std::optional<NormStats> run_norm_stats;  // a single model's, reused by --against
  if (req.norm_stats) {
    const std::string& sp = req.norm_stats_split;
    const data::Dataset& d = sp == "test" ? ds.test : ds.train;
    std::vector<int64_t> idx = sp == "forget"   ? split.forget
                               : sp == "retain" ? split.retain
                                                : data::all_indices(d);
    profile::Progress progress("bn stats " + sp, static_cast<int64_t>(idx.size()));
    if (!ensemble) {
      run_norm_stats = collect_norm_stats(model, d, idx, norm, sp, 256, &progress);
      m["bn_stats"] = norm_stats_json(*run_norm_stats);
      write_norm_stats_csv(*run_norm_stats, req.out);
    } else {
      // An ensemble has no normalization layers of its own: each member's statistics, and per
      // layer the mean gap over members with its spread (bn_stats_*.csv are member 0's).
      std::vector<nlohmann::json> per;
      for (size_t k = 0; k < ensemble->members().size(); ++k) {
        NormStats st = collect_norm_stats(*ensemble->members()[k], d, idx, norm, sp, 256, nullptr);
        per.push_back(norm_stats_json(st));
        if (k == 0) write_norm_stats_csv(st, req.out);
      }
      m["bn_stats"] = average_member_stats(per);
    }
    progress.finish();
    write_fairness_plot(req.out, m["bn_stats"]);
  }
  if (!req.against.empty()) {
    models::Checkpoint orig = models::load_run_model(req.against);
    models::Checkpoint ref;
    if (!req.reference.empty()) ref = models::load_run_model(req.reference);
    LETHE_CHECK(!dynamic_cast<models::Ensemble*>(orig.model.get()) &&
                    (!ref.model || !dynamic_cast<models::Ensemble*>(ref.model.get())),
                "--against/--reference: an ensemble run has no single model to compare layer by "
                "layer");
    orig.model->to(model.device());
    if (ref.model) ref.model->to(model.device());
    const std::string& sp = req.norm_stats_split;
    LayerEffectInputs li;
    li.run = &model;
    li.original = orig.model.get();
    li.reference = ref.model.get();
    li.against_dir = req.against;
    li.reference_dir = req.reference;
    li.data = sp == "test" ? &ds.test : &ds.train;
    li.rows = sp == "forget"   ? split.forget
              : sp == "retain" ? split.retain
                               : data::all_indices(*li.data);
    li.split = sp;
    li.norm = &norm;
    if (run_norm_stats) li.run_stats = &*run_norm_stats;
    m["layer_effect"] = layer_effect(li, req.out);
  }
  if (ensemble)
    m["ensemble"] = {{"members", ensemble->members().size()},
                     {"aggregate", models::Ensemble::aggregate_name(ensemble->aggregate_kind())}};
  m["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m["device"] = current_backend().name();  // the backend that ran it
  m["device_options"] = to_json(device_options());
  m["threads"] = omp_get_max_threads();
  m["from"] = req.from;
  m["build"] = build_info();
  io::write_json_atomic(req.out + "/metrics.json", m);
  return m;
}

}  // namespace lethe::eval
