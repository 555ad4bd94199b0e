// `lethe unlearn`: remove a forget set from a trained run with one of the methods of unlearn/.
#include <cstdio>

#include "apps/lethe/commands.h"
#include "apps/lethe/device_flags.h"
#include "apps/lethe/scope_flags.h"
#include "engine/dist/communicator.h"
#include "unlearn/options.h"
#include "unlearn/run.h"

namespace lethe::app {

Command add_unlearn(CLI::App& app) {
  auto* sub = app.add_subcommand("unlearn", "remove a forget set from a trained model");
  auto r = std::make_shared<unlearn::UnlearnRequest>();
  auto opts = std::make_shared<std::vector<std::string>>();
  std::string methods;
  for (const std::string& m : unlearn::method_names()) methods += (methods.empty() ? "" : "|") + m;
  sub->add_option("--from", r->from, "the original run directory")->required();
  sub->add_option("--method", r->method, methods)->required();
  sub->add_option("--forget", r->forget, "forget SPEC: random:0.1, random:500, class:3, file:P")
      ->required();
  sub->add_option("--out", r->out, "output run directory")->required();
  sub->add_flag("--no-retain", r->opt.no_retain, "only the forget set is available");
  add_scope_flags(sub, r->opt);
  sub->add_option("--epochs", r->opt.epochs, "method default when absent");
  sub->add_option("--lr", r->opt.lr, "method default when absent");
  sub->add_option("--batch", r->opt.batch)->capture_default_str();
  sub->add_option("--seed", r->opt.seed)->capture_default_str();
  auto seeds = std::make_shared<int64_t>(0);
  sub->add_option("--seeds", *seeds,
                  "N > 0: run with seeds --seed … --seed+N−1 into --out/seed-S (a seeds group)");
  sub->add_option("--requests", r->requests, "forget in N successive requests")
      ->capture_default_str();
  sub->add_option("--opt", *opts, "method option KEY=VALUE (repeatable)");
  sub->add_option("--threads", r->threads, "0 = all cores");
  sub->add_option("--device", r->device,
                  "cpu|emu|cuda (emu: the CUDA kernels on the SIMT emulator, slow)")
      ->capture_default_str();
  sub->add_flag("--overwrite", r->overwrite, "replace results in an existing --out");
  sub->add_flag("--resume", r->resume,
                "continue a killed or stopped run in --out from its last completed epoch "
                "(ft, rl, salun, bs, amun, amun-salun, amnesiac)");
  sub->add_option("--checkpoint-every", r->checkpoint_every,
                  "with --resume: also checkpoint every N steps inside an epoch (0: at epoch "
                  "ends only)")
      ->capture_default_str();
  sub->add_option("--max-memory", r->max_memory,
                  "refuse a --batch whose step is estimated to need more (e.g. 4G; default: the "
                  "available memory)");
  sub->add_flag("--detect-anomaly", r->detect_anomaly,
                "name the first op and module producing NaN/Inf (slow: reads every tensor)");
  auto device = add_device_flags(sub);
  return {sub, [r, opts, device, seeds] {
            device->apply();
            r->opt.extra = unlearn::parse_method_options(*opts);
            nlohmann::json m = *seeds != 0 ? unlearn::run_unlearning_seeds(*r, *seeds)
                                           : unlearn::run_unlearning(*r);
            if (dist::Communicator::world().is_root()) std::printf("%s\n", m.dump(2).c_str());
            return 0;
          }};
}

}  // namespace lethe::app
