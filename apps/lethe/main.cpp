// lethe: the command-line program. Errors print one line and exit non-zero; in a job of several
// ranks (mpirun) the line names the rank and the whole job ends (engine/dist).
#include <csignal>
#include <cstdio>
#include <vector>

#include "apps/lethe/commands.h"
#include "engine/backend/omp_wait.h"
#include "engine/core/error.h"
#include "engine/core/stop_signal.h"
#include "engine/dist/communicator.h"

int main(int argc, char** argv) {
  // Before any OpenMP region and before MPI starts: it may re-exec (engine/backend/omp_wait.h).
  lethe::reexec_with_yielding_omp_wait(argv);
  lethe::dist::Session mpi(argc, argv);  // MPI only when started by a launcher
  // A file-size limit (ulimit -f) would kill the process mid-write with no word; ignored, the
  // write fails with EFBIG like a full disk's ENOSPC, and the writer reports it in one line
  // (results are written to a temporary name and renamed: the previous file stays).
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"lethe: a deep-learning engine for machine-unlearning research"};
  app.require_subcommand(1);
  std::vector<lethe::app::Command> cmds = {
      lethe::app::add_info(app),   lethe::app::add_train(app), lethe::app::add_eval(app),
      lethe::app::add_verify(app), lethe::app::add_bench(app), lethe::app::add_unlearn(app),
      lethe::app::add_compare(app)};
  cmds.push_back(lethe::app::add_profile(app));
  cmds.push_back(lethe::app::add_sweep(app));
  cmds.push_back(lethe::app::add_correlate(app));
  cmds.push_back(lethe::app::add_tune(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& c : cmds)
      if (c.sub->parsed()) return c.run();
  } catch (const std::exception& e) {  // lethe::Error and the rest alike
    std::fprintf(stderr, "lethe: error: %s%s\n", lethe::dist::rank_prefix().c_str(), e.what());
    // Stopped by SIGINT/SIGTERM: the exit status a killed program would have.
    const int sig = lethe::stop_requested();
    const int code = sig ? 128 + sig : 1;
    // Other ranks may wait in a collective for this one: end them all.
    if (lethe::dist::Communicator::world().size() > 1) lethe::dist::abort_job(code);
    return code;
  }
  return 0;
}
