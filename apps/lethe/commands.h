// Subcommands of the `lethe` program: each lives in its own file and registers its options on
// the CLI11 app; run() executes it after parsing.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>

namespace lethe::app {

struct Command {
  CLI::App* sub;
  std::function<int()> run;
};

Command add_info(CLI::App& app);
Command add_verify(CLI::App& app);
Command add_train(CLI::App& app);
Command add_eval(CLI::App& app);
Command add_bench(CLI::App& app);
Command add_unlearn(CLI::App& app);
Command add_compare(CLI::App& app);
Command add_profile(CLI::App& app);
Command add_sweep(CLI::App& app);
Command add_correlate(CLI::App& app);
Command add_tune(CLI::App& app);

}  // namespace lethe::app
