#include "engine/backend/omp_wait.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace lethe {

void reexec_with_yielding_omp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;  // user's choice
  const char* keep = std::getenv("LETHE_OMP_WAIT");
  if (keep && std::strcmp(keep, "keep") == 0) return;
  // Set before the exec, so the new image's libgomp reads it and the child does not re-exec.
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // exec failed (no /proc?): run on with libgomp's default, which was initialised already.
}

}  // namespace lethe
