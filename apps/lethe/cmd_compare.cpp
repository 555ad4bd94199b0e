// `lethe compare DIR... [--reference RETRAIN_DIR] [--gap amun|svc] [--allow-different-forget]
// [--out DIR]`: the table of runs (Markdown on stdout; compare.md and compare.csv in --out):
// eval/compare.h.
#include <cstdio>

#include "apps/lethe/commands.h"
#include "eval/compare.h"

namespace lethe::app {

Command add_compare(CLI::App& app) {
  auto* sub = app.add_subcommand("compare", "table of runs and their gap to a reference");
  struct Opts {
    std::vector<std::string> dirs;
    std::string reference, out;
    eval::CompareOptions opt;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("dirs", o->dirs, "run directories")->required();
  sub->add_option("--reference", o->reference, "the retrained run to measure gaps against");
  sub->add_option("--out", o->out, "directory for compare.md and compare.csv");
  sub->add_option("--gap", o->opt.gap,
                  "amun: AMUN's Avg. Gap (forget/retain/test acc, FT AUC = RMIA forget-vs-test); "
                  "svc: SVC-MIA efficacy in place of FT AUC")
      ->capture_default_str();
  sub->add_flag("--allow-different-forget", o->opt.allow_different_forget,
                "compare runs measured on different forget sets");
  return {sub, [o] {
            std::printf("%s", eval::run_compare(o->dirs, o->reference, o->out, o->opt).c_str());
            return 0;
          }};
}

}  // namespace lethe::app
