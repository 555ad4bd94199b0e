// `lethe eval`: a run directory's model measured on its splits (accuracy, membership inference,
// robustness, normalization statistics): eval/run_eval.h.
#include <cstdio>

#include "apps/lethe/commands.h"
#include "apps/lethe/device_flags.h"
#include "eval/mia/mia.h"
#include "eval/run_eval.h"

namespace lethe::app {

Command add_eval(CLI::App& app) {
  auto* sub = app.add_subcommand("eval", "evaluate a run directory's model");
  auto r = std::make_shared<eval::EvalRequest>();
  sub->add_option("--from", r->from, "run directory holding model.safetensors")->required();
  sub->add_option("--forget", r->forget, "forget SPEC (as in unlearn)");
  sub->add_option("--forget-file", r->forget_file, "training indices, one per line");
  sub->add_option("--data", r->data, "data SPEC (default: the run's)");
  sub->add_option("--out", r->out, "output directory for metrics.json")->required();
  sub->add_option("--mia", r->mia, eval::mia::mia_option_help());
  sub->add_option("--references", r->references,
                  "reference models (lethe train --reference-models) for the --mia attacks "
                  "lira-online, lira-offline, lira-online-fixed, lira-offline-fixed, rmia-online, "
                  "rmia-offline (all six when --mia names none)");
  sub->add_option(
      "--attack", r->attack,
      "robustness: attack specs, e.g. fgsm:eps=8/255,pgd-linf:eps=8/255,steps=10,min-eps");
  sub->add_option("--attack-samples", r->attack_samples,
                  "attack at most N samples per split (seeded subsample; 0 = all)")
      ->capture_default_str();
  sub->add_flag("--norm-stats,--bn-stats", r->norm_stats,
                "per-class BatchNorm/LayerNorm statistics and fairness gaps (bn_stats, "
                "bn_stats_*.csv)");
  sub->add_option("--norm-stats-split,--bn-stats-split", r->norm_stats_split,
                  "split for --norm-stats (default test)")
      ->check(CLI::IsMember({"test", "train", "forget", "retain"}));
  sub->add_option("--against", r->against,
                  "the original run: per layer, the relative change of the parameters and of the "
                  "fairness gap from it (layer_effect.csv)");
  sub->add_option("--reference", r->reference,
                  "with --against: the retrained run, its per-layer changes beside");
  sub->add_option("--threads", r->threads, "0 = all cores");
  sub->add_flag("--overwrite", r->overwrite, "replace results in an existing --out");
  auto device = add_device_flags(sub);
  return {sub, [r, device] {
            device->apply();
            std::printf("%s\n", eval::run_eval(*r).dump(2).c_str());
            return 0;
          }};
}

}  // namespace lethe::app
