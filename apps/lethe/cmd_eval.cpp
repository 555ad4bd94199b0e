// `lethe eval`: accuracies of a run directory's model on test, and on forget/retain when a
// forget set is known (--forget SPEC, --forget-file F, or the run's own forget.txt), else on
// train; per-class accuracy and confidence histograms (confidence.svg); robust accuracy under
// --attack (eval/robust).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "apps/lethe/commands.h"
#include "data/forget.h"
#include "data/spec.h"
#include "engine/io/run_dir.h"
#include "eval/accuracy.h"
#include "eval/report/svg.h"
#include "eval/robust/robustness.h"
#include "models/checkpoint.h"
#include "train/train_run.h"
#include "train/trainer.h"

namespace lethe::app {

Command add_eval(CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "evaluate a run directory's model");
  struct Opts {
    std::string from, forget, forget_file, out, data;
    std::string attack;
    int64_t attack_samples = 1000;
    int threads = 0;
    bool overwrite = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--from", o->from, "run directory holding model.safetensors")->required();
  sub->add_option("--forget", o->forget, "forget SPEC (as in unlearn)");
  sub->add_option("--forget-file", o->forget_file, "training indices, one per line");
  sub->add_option("--data", o->data, "data SPEC (default: the run's)");
  sub->add_option("--out", o->out, "output directory for metrics.json")->required();
  sub->add_option(
      "--attack", o->attack,
      "robustness: attack specs, e.g. fgsm:eps=8/255,pgd-linf:eps=8/255,steps=10,min-eps");
  sub->add_option("--attack-samples", o->attack_samples,
                  "attack at most N samples per split (seeded subsample; 0 = all)")
      ->capture_default_str();
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
        uint64_t seed = cfg.value("seed", uint64_t{0});
        data::DataSplit ds = train::load_training_data(
            spec, seed, o->data.empty() ? cfg.value("subset", int64_t{0}) : 0);
        io::prepare_run_dir(o->out, o->overwrite);

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

        auto& model = *ck.model;
        const int64_t classes = ds.train.num_classes;
        // Splits, with the logits computed once for accuracy, confidence and the attacks.
        std::vector<eval::EvalSplit> splits{{"test", &ds.test, train::all_indices(ds.test)}};
        if (have_forget) {
          data::ForgetSplit split = data::split_from_forget(forget, ds.train.size(), "forget set");
          splits.push_back({"forget", &ds.train, split.forget});
          splits.push_back({"retain", &ds.train, split.retain});
          data::write_index_file(o->out + "/forget.txt", split.forget);
        } else {
          splits.push_back({"train", &ds.train, train::all_indices(ds.train)});
        }
        nlohmann::json m, per_class;
        std::vector<std::pair<std::string, std::vector<double>>> confidences;
        for (const eval::EvalSplit& s : splits) {
          Tensor logits = train::predict_logits(model, *s.data, s.indices, norm);
          std::vector<int64_t> y;
          const int64_t* lab = s.data->labels.data<int64_t>();
          for (int64_t i : s.indices) y.push_back(lab[i]);
          eval::SplitAccuracy a = eval::split_accuracy(logits, y, classes);
          m[s.name + "_acc"] = a.acc;
          per_class[s.name] = eval::to_json(a);
          confidences.emplace_back(s.name, std::move(a.confidence));
        }
        m["per_class"] = per_class;
        eval::svg::HistogramOptions ho;
        ho.title = "confidence p(y|x) on the true label";
        ho.xlabel = "confidence";
        io::write_text_atomic(o->out + "/confidence.svg", eval::svg::histogram(confidences, ho));
        if (!attacks.empty()) {
          eval::RobustOptions ro;
          ro.max_samples = o->attack_samples;
          ro.seed = seed;
          std::vector<eval::MinEpsSamples> me;
          m["robust"] = eval::run_robustness(model, norm, splits, attacks, ro, &me);
          if (!me.empty()) {
            std::string csv = "split,index,eps,dist,flipped\n";
            std::vector<std::pair<std::string, std::vector<double>>> dists;
            double hi = 0;
            for (const auto& s : me) {
              for (size_t i = 0; i < s.eps.size(); ++i)
                csv += s.split + "," + std::to_string(s.indices[i]) + "," +
                       std::to_string(s.eps[i]) + "," + std::to_string(s.dist[i]) + "," +
                       std::to_string(s.flipped[i]) + "\n";
              dists.emplace_back(s.split, s.dist);
              for (double d : s.dist) hi = std::max(hi, d);
            }
            io::write_text_atomic(o->out + "/min_eps.csv", csv);
            eval::svg::HistogramOptions mh;
            mh.title = "minimal adversarial distance (AMUN search, L2)";
            mh.xlabel = "||x_adv - x||_2";
            mh.hi = hi > 0 ? hi : 1;
            io::write_text_atomic(o->out + "/min_eps.svg", eval::svg::histogram(dists, mh));
          }
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
