// `lethe profile`: per-layer cost of training steps or of one unlearning method, under a layer
// scope (unlearn/profile_run.h). Prints the table to stdout; writes DIR/profile.json,
// DIR/profile.csv, config.json.
#include <cstdio>

#include "apps/lethe/commands.h"
#include "apps/lethe/device_flags.h"
#include "apps/lethe/scope_flags.h"
#include "unlearn/method.h"
#include "unlearn/profile_run.h"

namespace lethe::app {

Command add_profile(CLI::App& app) {
  auto* sub = app.add_subcommand("profile", "per-layer cost of training or an unlearning method");
  auto r = std::make_shared<unlearn::ProfileRequest>();
  std::string methods = "train";
  for (const std::string& m : unlearn::method_names()) methods += "|" + m;
  auto* from = sub->add_option("--from", r->from, "a trained run directory");
  auto* model = sub->add_option("--model", r->model, "a fresh model: resnet18|34|50, vit-*, ...");
  from->excludes(model);
  sub->add_option("--data", r->data, "data SPEC (default: the run's, else fashion-mnist)");
  sub->add_option("--width", r->width, "ResNet width for --model (0 = default)");
  sub->add_option("--stem", r->stem, "ResNet stem for --model: cifar|imagenet");
  sub->add_option("--method", r->method, methods)->required();
  add_scope_flags(sub, r->opt);
  sub->add_option("--batch", r->opt.batch)->capture_default_str();
  sub->add_option("--steps", r->steps, "measured training steps (--method train)")
      ->capture_default_str();
  sub->add_option("--warmup", r->warmup, "unmeasured training steps before (--method train)")
      ->capture_default_str();
  sub->add_option("--forget", r->forget, "forget SPEC (unlearning methods)")->capture_default_str();
  sub->add_option("--retain", r->retain, "retain rows used (0 = all)")->capture_default_str();
  sub->add_option("--epochs", r->opt.epochs, "method epochs")->capture_default_str();
  sub->add_option("--lr", r->opt.lr, "method default when absent");
  sub->add_option("--opt", r->options, "method option KEY=VALUE (repeatable)");
  sub->add_option("--seed", r->opt.seed)->capture_default_str();
  sub->add_option("--repeats", r->repeats,
                  "measure N times; the table is the median repeat, profile.json has the spread")
      ->capture_default_str();
  sub->add_flag("--short", r->short_run,
                "the shortened method defaults (AMUN: 10 search steps, 3 doublings) instead of "
                "the method's own");
  sub->add_option("--threads", r->threads, "0 = all cores");
  sub->add_option("--depth", r->depth, "table rows up to this module depth (-1 = all)");
  sub->add_option("--out", r->out, "output directory")->required();
  sub->add_flag("--overwrite", r->overwrite, "replace results in an existing --out");
  auto device = add_device_flags(sub);
  return {sub, [r, device] {
            device->apply();
            std::printf("%s", unlearn::run_profile(*r).summary.c_str());
            return 0;
          }};
}

}  // namespace lethe::app
