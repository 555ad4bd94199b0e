// lethe: the command-line program. Errors print one line and exit non-zero.
#include <cstdio>
#include <vector>

#include "apps/lethe/commands.h"
#include "engine/backend/omp_wait.h"
#include "engine/core/error.h"
#include "engine/core/stop_signal.h"

int main(int argc, char** argv) {
  lethe::reexec_with_yielding_omp_wait(
      argv);  // before any OpenMP region (engine/backend/omp_wait.h)
  CLI::App app{"lethe: a deep-learning engine for machine-unlearning research"};
  app.require_subcommand(1);
  std::vector<lethe::app::Command> cmds = {
      lethe::app::add_info(app),   lethe::app::add_train(app), lethe::app::add_eval(app),
      lethe::app::add_verify(app), lethe::app::add_bench(app), lethe::app::add_unlearn(app),
      lethe::app::add_compare(app)};
  cmds.push_back(lethe::app::add_profile(app));
  cmds.push_back(lethe::app::add_sweep(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& c : cmds)
      if (c.sub->parsed()) return c.run();
  } catch (const lethe::Error& e) {
    std::fprintf(stderr, "lethe: error: %s\n", e.what());
    // Stopped by SIGINT/SIGTERM: the exit status a killed program would have.
    if (const int sig = lethe::stop_requested()) return 128 + sig;
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lethe: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
