// `lethe tune --from RUN --method M --forget SPEC --reference RETRAIN_EVAL --out DIR
//  --grid KEY=V1,V2 [KEY=...] [--budget K --seed S] [--gap amun|svc --references REFS --mia LIST]`:
// a grid or budgeted random search over one method's hyperparameters, every candidate unlearned,
// evaluated and scored by its average gap to the reference (unlearn/tune.h).
#include <cstdio>

#include "apps/lethe/commands.h"
#include "apps/lethe/scope_flags.h"
#include "unlearn/options.h"
#include "unlearn/tune.h"

namespace lethe::app {

Command add_tune(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "tune", "grid or random search of a method's hyperparameters, scored by the gap to retrain");
  auto r = std::make_shared<unlearn::TuneRequest>();
  auto grid = std::make_shared<std::vector<std::string>>();
  auto opts = std::make_shared<std::vector<std::string>>();
  sub->add_option("--from", r->from, "the original run directory")->required();
  sub->add_option("--method", r->method, "the method to tune")->required();
  sub->add_option("--forget", r->forget, "forget SPEC")->required();
  sub->add_option("--reference", r->reference,
                  "the evaluated retrain run the gap is measured against")
      ->required();
  sub->add_option("--out", r->out, "output directory (resumable)")->required();
  sub->add_option("--grid", *grid,
                  "KEY=V1,V2,... (repeatable or space-separated); lr, epochs, batch or a method "
                  "option")
      ->required();
  sub->add_option("--budget", r->budget, "K > 0: run K grid points drawn at random (0 = all)")
      ->capture_default_str();
  sub->add_option("--seed", r->search_seed, "seed of the random search (--budget)")
      ->capture_default_str();
  sub->add_option("--method-seed", r->opt.seed, "the method's --seed")->capture_default_str();
  sub->add_option("--gap", r->gap, "amun (FT AUC, needs --references) or svc (SVC-MIA)")
      ->capture_default_str();
  sub->add_option("--references", r->references, "reference models for RMIA (gap amun)");
  sub->add_option("--mia", r->mia, "lethe eval --mia for every candidate (default: the gap's)");
  add_scope_flags(sub, r->opt);
  sub->add_flag("--no-retain", r->opt.no_retain, "only the forget set is available");
  sub->add_option("--epochs", r->opt.epochs, "method default when absent and not in --grid");
  sub->add_option("--lr", r->opt.lr, "method default when absent and not in --grid");
  sub->add_option("--batch", r->opt.batch)->capture_default_str();
  sub->add_option("--opt", *opts, "method option KEY=VALUE for every candidate (repeatable)");
  sub->add_option("--threads", r->threads, "0 = all cores");
  sub->add_flag("--overwrite", r->overwrite, "replace another search's results in --out");
  return {sub, [r, grid, opts] {
            r->grid = unlearn::parse_grid(*grid);
            r->opt.extra = unlearn::parse_method_options(*opts);
            unlearn::run_tune(*r);
            return 0;
          }};
}

}  // namespace lethe::app
