// `lethe compare DIR... [--reference RETRAIN_DIR] [--out DIR]`: the table of runs (Markdown on
// stdout; compare.md and compare.csv in --out).
#include <cstdio>

#include "apps/lethe/commands.h"
#include "engine/io/run_dir.h"
#include "eval/compare.h"

namespace lethe::app {

Command add_compare(CLI::App& app) {
  auto* sub = app.add_subcommand("compare", "table of runs and their gap to a reference");
  struct Opts {
    std::vector<std::string> dirs;
    std::string reference, out;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("dirs", o->dirs, "run directories")->required();
  sub->add_option("--reference", o->reference, "the retrained run to measure gaps against");
  sub->add_option("--out", o->out, "directory for compare.md and compare.csv");
  return {sub, [o] {
            auto rows = eval::compare_runs(o->dirs, o->reference);
            std::string md = eval::to_markdown(rows, o->reference);
            std::string details = eval::details_markdown(rows);
            if (!details.empty()) md += "\n" + details;
            std::printf("%s", md.c_str());
            if (!o->out.empty()) {
              io::prepare_run_dir(o->out, true, "--out");
              io::write_text_atomic(o->out + "/compare.md", md);
              io::write_text_atomic(o->out + "/compare.csv", eval::to_csv(rows));
              std::string fair = eval::fairness_svg(rows);
              if (!fair.empty()) io::write_text_atomic(o->out + "/fairness_gap.svg", fair);
            }
            return 0;
          }};
}

}  // namespace lethe::app
