// The single doctest entry point; ctest runs this binary once per suite (folder). Under an MPI
// launcher (test `dist`: mpirun -np 2) every rank runs the suite; MPI starts only then.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "engine/backend/omp_wait.h"
#include "engine/dist/communicator.h"

int main(int argc, char** argv) {
  // The suite runs next to other builds: a yielding OpenMP wait keeps 2-thread tests from
  // starving each other (engine/backend/omp_wait.h). Before MPI starts: it may re-exec.
  lethe::reexec_with_yielding_omp_wait(argv);
  lethe::dist::Session mpi(argc, argv);
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
