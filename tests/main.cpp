// The single doctest entry point; ctest runs this binary once per suite (folder).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "engine/backend/omp_wait.h"

int main(int argc, char** argv) {
  // The suite runs next to other builds: a yielding OpenMP wait keeps 2-thread tests from
  // starving each other (engine/backend/omp_wait.h).
  lethe::reexec_with_yielding_omp_wait(argv);
  return doctest::Context(argc, argv).run();
}
