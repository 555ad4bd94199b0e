// `lethe eval`: accuracies of a run directory's model on test, and on forget/retain when a
// forget set is known (--forget SPEC, --forget-file F, or the run's own forget.txt), else on
// train; membership inference (--mia, eval/mia/mia.h) adds "mia". Attacks and BN statistics
// arrive with the evaluation issue.
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "apps/lethe/commands.h"
#include "data/forget.h"
#include "data/spec.h"
#include "engine/io/run_dir.h"
#include "eval/mia/mia.h"
#include "eval/mia/reference_mia.h"
#include "models/checkpoint.h"
#include "train/train_run.h"
#include "train/trainer.h"

namespace lethe::app {

Command add_eval(CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "evaluate a run directory's model");
  struct Opts {
    std::string from, forget, forget_file, out, data, mia;
    std::string references;  // reference-model directory (LiRA/RMIA)
    int threads = 0;
    bool overwrite = false;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--from", o->from, "run directory holding model.safetensors")->required();
  sub->add_option("--forget", o->forget, "forget SPEC (as in unlearn)");
  sub->add_option("--forget-file", o->forget_file, "training indices, one per line");
  sub->add_option("--data", o->data, "data SPEC (default: the run's)");
  sub->add_option("--out", o->out, "output directory for metrics.json")->required();
  sub->add_option("--threads", o->threads, "0 = all cores");
  sub->add_option("--mia", o->mia, eval::mia::mia_option_help());
  sub->add_flag("--overwrite", o->overwrite, "replace results in an existing --out");
  sub->add_option("--references", o->references,
                  "reference models (lethe train --reference-models) for the --mia attacks "
                  "lira-online, lira-offline, lira-online-fixed, lira-offline-fixed, rmia-online, "
                  "rmia-offline (all six when --mia names none)");
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
        std::vector<std::string> ref_attacks;
        std::vector<std::string> mia_attacks = eval::mia::parse_attack_list(
            eval::mia::split_reference_attacks(o->mia, !o->references.empty(), ref_attacks));
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
          split.retain = train::all_indices(ds.train);
        }
        if (!mia_attacks.empty()) {
          eval::mia::MiaInputs mi = eval::mia::predict_mia_inputs(
              model, norm, ds.train, split.forget, split.retain, ds.test, have_forget);
          m["mia"] = eval::mia::run_mia(mi, mia_attacks, {});
        }
        if (!o->references.empty()) {
          int64_t subset = o->data.empty() ? cfg.value("subset", int64_t{0}) : 0;
          nlohmann::json r = eval::mia::run_reference_mia_on_model(
              model, ds, norm, eval::mia::pool_info(ds, spec, subset, seed), o->references,
              have_forget ? &split.forget : nullptr, ref_attacks);
          if (!m.contains("mia")) m["mia"] = nlohmann::json::object();
          m["mia"].update(r);
          m["mia_references"] = o->references;
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
