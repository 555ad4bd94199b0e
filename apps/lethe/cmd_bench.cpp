// `lethe bench`: training-step, inference and adversarial-search throughput of a model on random
// data, as JSON (eval/bench_run.h). Progress on stderr.
#include <cstdio>

#include "apps/lethe/commands.h"
#include "apps/lethe/device_flags.h"
#include "eval/bench_run.h"

namespace lethe::app {

Command add_bench(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "training-step and inference throughput (JSON)");
  auto r = std::make_shared<eval::BenchRequest>();
  sub->add_option("--model", r->model)->capture_default_str();
  sub->add_option("--width", r->width, "ResNet width (0 = default)");
  sub->add_option("--stem", r->stem, "ResNet stem: cifar|imagenet");
  sub->add_option("--batch", r->batch)->capture_default_str();
  sub->add_option("--image", r->image, "image size")->capture_default_str();
  sub->add_option("--channels", r->channels)->capture_default_str();
  sub->add_option("--classes", r->classes)->capture_default_str();
  sub->add_option("--steps", r->steps, "measured steps (≥ 5)")->capture_default_str();
  sub->add_option("--warmup", r->warmup)->capture_default_str();
  sub->add_option("--threads", r->threads, "0 = all cores")->capture_default_str();
  sub->add_option("--device", r->device,
                  "cpu|emu|cuda: where the model lives (emu also prints the bus traffic of a "
                  "training step)")
      ->capture_default_str();
  sub->add_option("--pgd-steps", r->pgd_steps,
                  "PGD L∞ steps per measured attack (AMUN's search throughput; 0 skips it)")
      ->capture_default_str();
  auto device = add_device_flags(sub);
  return {sub, [r, device] {
            device->apply();
            std::printf("%s\n", eval::run_bench(*r).dump(2).c_str());
            return 0;
          }};
}

}  // namespace lethe::app
