// `lethe eval`: a run directory's model measured on test, and on forget/retain when a forget set
// is known (--forget SPEC, --forget-file F, or the run's own forget.txt), else on train:
// accuracy overall and per class, confidence histograms (confidence.svg); membership inference
// (--mia, eval/mia; LiRA/RMIA with --references), ROC curves (roc.svg); robust accuracy under
// --attack (eval/robust); per-class BN/LN statistics and fairness gaps (--bn-stats).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <tuple>

#include "apps/lethe/commands.h"
#include "data/forget.h"
#include "data/spec.h"
#include "engine/io/run_dir.h"
#include "engine/ops/ops.h"
#include "eval/accuracy.h"
#include "eval/mia/mia.h"
#include "eval/mia/reference_mia.h"
#include "eval/norm_stats.h"
#include "eval/report/svg.h"
#include "eval/robust/robustness.h"
#include "models/checkpoint.h"
#include "train/train_run.h"
#include "train/trainer.h"

namespace lethe::app {
namespace {

// min_eps.csv and min_eps.svg from the per-sample minimal ε of each split.
void write_min_eps(const std::string& dir, const std::vector<eval::MinEpsSamples>& me) {
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
  eval::svg::HistogramOptions mh;
  mh.title = "minimal adversarial distance (AMUN search, L2)";
  mh.xlabel = "||x_adv - x||_2";
  mh.hi = hi > 0 ? hi : 1;
  io::write_text_atomic(dir + "/min_eps.svg", eval::svg::histogram(dists, mh));
}

// roc.svg: one curve per table attack on its headline comparison, log-log (low FPR matters).
void write_roc(const std::string& dir, const std::map<std::string, eval::mia::MiaCurves>& curves,
               const std::string& comparison) {
  std::vector<eval::svg::Series> series;
  for (const auto& [attack, by_cmp] : curves) {
    auto it = by_cmp.find(comparison);
    if (it == by_cmp.end()) continue;
    series.push_back({attack, it->second.fpr, it->second.tpr});
  }
  if (series.empty()) return;
  eval::svg::LineOptions lo;
  lo.title = "membership inference ROC (" + comparison + ", first seed)";
  lo.xlabel = "false positive rate";
  lo.ylabel = "true positive rate";
  lo.log_x = lo.log_y = true;
  lo.x_min = lo.y_min = 1e-3;
  lo.diagonal = true;
  io::write_text_atomic(dir + "/roc.svg", eval::svg::line_plot(series, lo));
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
  eval::svg::BarOptions bo;
  bo.title = "fairness gap per layer (max - min over classes of the input std), " +
             bn.value("split", std::string());
  bo.ylabel = "fairness gap";
  io::write_text_atomic(dir + "/fairness_gap.svg",
                        eval::svg::bar_chart(names, {{"fairness gap", gaps}}, bo));
}

}  // namespace

Command add_eval(CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "evaluate a run directory's model");
  struct Opts {
    std::string from, forget, forget_file, out, data, mia;
    std::string references;  // reference-model directory (LiRA/RMIA)
    std::string attack;
    int64_t attack_samples = 1000;
    bool bn_stats = false;
    std::string bn_stats_split = "test";
    int threads = 0;
    bool overwrite = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--from", o->from, "run directory holding model.safetensors")->required();
  sub->add_option("--forget", o->forget, "forget SPEC (as in unlearn)");
  sub->add_option("--forget-file", o->forget_file, "training indices, one per line");
  sub->add_option("--data", o->data, "data SPEC (default: the run's)");
  sub->add_option("--out", o->out, "output directory for metrics.json")->required();
  sub->add_option("--mia", o->mia, eval::mia::mia_option_help());
  sub->add_option("--references", o->references,
                  "reference models (lethe train --reference-models) for the --mia attacks "
                  "lira-online, lira-offline, lira-online-fixed, lira-offline-fixed, rmia-online, "
                  "rmia-offline (all six when --mia names none)");
  sub->add_option(
      "--attack", o->attack,
      "robustness: attack specs, e.g. fgsm:eps=8/255,pgd-linf:eps=8/255,steps=10,min-eps");
  sub->add_option("--attack-samples", o->attack_samples,
                  "attack at most N samples per split (seeded subsample; 0 = all)")
      ->capture_default_str();
  sub->add_flag("--bn-stats", o->bn_stats,
                "per-class BN/LN statistics and fairness gaps (bn_stats, bn_stats_*.csv)");
  sub->add_option("--bn-stats-split", o->bn_stats_split, "split for --bn-stats (default test)")
      ->check(CLI::IsMember({"test", "train", "forget", "retain"}));
  sub->add_option("--threads", o->threads, "0 = all cores");
  sub->add_flag("--overwrite", o->overwrite, "replace results in an existing --out");
  return {
      sub, [o] {
        namespace fs = std::filesystem;
        auto t0 = std::chrono::steady_clock::now();
        if (o->threads > 0) omp_set_num_threads(o->threads);
        LETHE_CHECK(o->forget.empty() || o->forget_file.empty(),
                    "--forget and --forget-file are exclusive");
        LETHE_CHECK(o->attack_samples >= 0, "--attack-samples must be >= 0, got ",
                    o->attack_samples);
        std::vector<eval::AttackSpec> attacks;
        if (!o->attack.empty()) attacks = eval::parse_attack_list(o->attack, "--attack");
        nlohmann::json cfg = io::read_json(o->from + "/config.json");
        models::Checkpoint ck = models::load_checkpoint(o->from + "/model.safetensors");
        train::Normalization norm = train::Normalization::from_run(ck.metadata, cfg);
        std::string spec = o->data.empty() ? cfg.at("data").get<std::string>() : o->data;
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
        data::DataSplit ds =
            train::load_training_data(spec, seed, o->data.empty() ? run_subset : 0);
        std::vector<std::string> ref_attacks;
        std::vector<std::string> mia_attacks = eval::mia::parse_attack_list(
            eval::mia::split_reference_attacks(o->mia, !o->references.empty(), ref_attacks));

        std::vector<int64_t> forget;
        bool have_forget = true;
        if (!o->forget.empty())
          forget = data::make_forget_split(o->forget, ds.train, seed).forget;
        else if (!o->forget_file.empty())
          forget = data::read_index_file(o->forget_file, ds.train.size());
        else if (fs::exists(o->from + "/forget.txt"))
          forget = data::read_index_file(o->from + "/forget.txt", ds.train.size());
        else
          have_forget = false;
        LETHE_CHECK(!o->bn_stats || have_forget || o->bn_stats_split == "test" ||
                        o->bn_stats_split == "train",
                    "--bn-stats-split ", o->bn_stats_split,
                    " needs a forget set (--forget, --forget-file or the run's forget.txt)");
        data::ForgetSplit split;
        if (have_forget)
          split = data::split_from_forget(forget, ds.train.size(), "forget set");
        else
          split.retain = train::all_indices(ds.train);
        LETHE_CHECK(o->references.empty() || fs::exists(o->references + "/logits.safetensors"),
                    "--references ", o->references,
                    ": no logits.safetensors (train it with lethe train --reference-models M)");
        io::prepare_run_dir(o->out, o->overwrite);
        if (have_forget) data::write_index_file(o->out + "/forget.txt", split.forget);

        auto& model = *ck.model;
        const int64_t classes = ds.train.num_classes;
        // The splits; each one's logits are computed once for accuracy, confidence and MIA.
        std::vector<eval::EvalSplit> splits{{"test", &ds.test, train::all_indices(ds.test)}};
        if (have_forget) {
          splits.push_back({"forget", &ds.train, split.forget});
          splits.push_back({"retain", &ds.train, split.retain});
        } else {
          splits.push_back({"train", &ds.train, split.retain});
        }
        // Logits once per dataset, in row order: each split takes its rows from them, and the
        // reference attacks read them as the pool (training rows, then test rows).
        Tensor train_logits =
            train::predict_logits(model, ds.train, train::all_indices(ds.train), norm);
        Tensor test_logits =
            train::predict_logits(model, ds.test, train::all_indices(ds.test), norm);
        nlohmann::json m, per_class;
        std::vector<std::pair<Tensor, std::vector<int64_t>>> parts;  // per split: logits, labels
        std::vector<std::pair<std::string, std::vector<double>>> confidences;
        for (const eval::EvalSplit& s : splits) {
          Tensor logits = s.data == &ds.test  ? test_logits
                          : s.indices.empty() ? Tensor::zeros({0, 0})
                                              : ops::index_select(train_logits, s.indices);
          std::vector<int64_t> y;
          const int64_t* lab = s.data->labels.data<int64_t>();
          for (int64_t i : s.indices) y.push_back(lab[i]);
          eval::SplitAccuracy a = eval::split_accuracy(logits, y, classes);
          m[s.name + "_acc"] = a.acc;
          per_class[s.name] = eval::to_json(a);
          confidences.emplace_back(s.name, std::move(a.confidence));
          parts.emplace_back(logits, std::move(y));
        }
        // splits: test, then forget and retain (or train).
        eval::mia::MiaInputs mi;
        mi.has_forget = have_forget;
        std::tie(mi.test_logits, mi.test_labels) = parts[0];
        std::tie(mi.retain_logits, mi.retain_labels) = parts.back();
        if (have_forget) std::tie(mi.forget_logits, mi.forget_labels) = parts[1];
        m["per_class"] = per_class;
        eval::svg::HistogramOptions ho;
        ho.title = "confidence p(y|x) on the true label";
        ho.xlabel = "confidence";
        io::write_text_atomic(o->out + "/confidence.svg", eval::svg::histogram(confidences, ho));

        if (!mia_attacks.empty()) {
          std::map<std::string, eval::mia::MiaCurves> curves;
          m["mia"] = eval::mia::run_mia(mi, mia_attacks, {}, &curves);
          write_roc(o->out, curves, have_forget ? "forget_vs_test" : "train_vs_test");
        }
        if (!o->references.empty()) {
          int64_t subset = o->data.empty() ? run_subset : 0;
          std::vector<float> pool = train_logits.to_vector(), tl = test_logits.to_vector();
          pool.insert(pool.end(), tl.begin(), tl.end());
          nlohmann::json r = eval::mia::run_reference_mia_on_logits(
              pool, ds, eval::mia::pool_info(ds, spec, subset, seed), o->references,
              have_forget ? &split.forget : nullptr, ref_attacks);
          if (!m.contains("mia")) m["mia"] = nlohmann::json::object();
          m["mia"].update(r);
          m["mia_references"] = o->references;
        }
        if (!attacks.empty()) {
          eval::RobustOptions ro;
          ro.max_samples = o->attack_samples;
          ro.seed = seed;
          std::vector<eval::MinEpsSamples> me;
          m["robust"] = eval::run_robustness(model, norm, splits, attacks, ro, &me);
          if (!me.empty()) write_min_eps(o->out, me);
        }
        if (o->bn_stats) {
          const std::string& sp = o->bn_stats_split;
          const data::Dataset& d = sp == "test" ? ds.test : ds.train;
          std::vector<int64_t> idx = sp == "forget"   ? split.forget
                                     : sp == "retain" ? split.retain
                                                      : train::all_indices(d);
          profile::Progress progress("bn stats " + sp, static_cast<int64_t>(idx.size()));
          eval::NormStats st = eval::collect_norm_stats(model, d, idx, norm, sp, 256, &progress);
          progress.finish();
          m["bn_stats"] = eval::norm_stats_json(st);
          eval::write_norm_stats_csv(st, o->out);
          write_fairness_plot(o->out, m["bn_stats"]);
        }
        m["wall_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        m["device"] = "cpu";
        m["threads"] = omp_get_max_threads();
        m["from"] = o->from;
        m["build"] = train::build_info();
        io::write_json_atomic(o->out + "/metrics.json", m);
        std::printf("%s\n", m.dump(2).c_str());
        return 0;
      }};
}

}  // namespace lethe::app
