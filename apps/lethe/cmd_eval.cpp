// `lethe eval`: accuracies of a run directory's model on test, and on forget/retain when a
// forget set is known (--forget SPEC, --forget-file F, or the run's own forget.txt), else on
// train. Membership inference, attacks and BN statistics arrive with the evaluation issue.
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "apps/lethe/commands.h"
#include "data/forget.h"
#include "data/spec.h"
#include "engine/io/run_dir.h"
#include "eval/norm_stats.h"
#include "models/checkpoint.h"
#include "train/train_run.h"
#include "train/trainer.h"

namespace lethe::app {

Command add_eval(CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "evaluate a run directory's model");
  struct Opts {
    std::string from, forget, forget_file, out, data;
    int threads = 0;
    bool overwrite = false;
    bool bn_stats = false;
    std::string bn_stats_split = "test";
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--from", o->from, "run directory holding model.safetensors")->required();
  sub->add_option("--forget", o->forget, "forget SPEC (as in unlearn)");
  sub->add_option("--forget-file", o->forget_file, "training indices, one per line");
  sub->add_option("--data", o->data, "data SPEC (default: the run's)");
  sub->add_option("--out", o->out, "output directory for metrics.json")->required();
  sub->add_option("--threads", o->threads, "0 = all cores");
  sub->add_flag("--overwrite", o->overwrite, "replace results in an existing --out");
  sub->add_flag("--bn-stats", o->bn_stats,
                "per-class BN/LN statistics and fairness gaps (bn_stats, bn_stats_*.csv)");
  sub->add_option("--bn-stats-split", o->bn_stats_split, "split for --bn-stats (default test)")
      ->check(CLI::IsMember({"test", "train", "forget", "retain"}));
  return {
      sub, [o] {
        namespace fs = std::filesystem;
        auto t0 = std::chrono::steady_clock::now();
        if (o->threads > 0) omp_set_num_threads(o->threads);
        LETHE_CHECK(o->forget.empty() || o->forget_file.empty(),
                    "--forget and --forget-file are exclusive");
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
        LETHE_CHECK(!o->bn_stats || have_forget || o->bn_stats_split == "test" ||
                        o->bn_stats_split == "train",
                    "--bn-stats-split ", o->bn_stats_split,
                    " needs a forget set (--forget, --forget-file or the run's forget.txt)");

        auto& model = *ck.model;
        nlohmann::json m;
        m["test_acc"] = train::accuracy(model, ds.test, train::all_indices(ds.test), norm);
        data::ForgetSplit split;
        if (have_forget) {
          split = data::split_from_forget(forget, ds.train.size(), "forget set");
          m["forget_acc"] = train::accuracy(model, ds.train, split.forget, norm);
          m["retain_acc"] = train::accuracy(model, ds.train, split.retain, norm);
          data::write_index_file(o->out + "/forget.txt", split.forget);
        } else {
          m["train_acc"] = train::accuracy(model, ds.train, train::all_indices(ds.train), norm);
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
