// A yielding OpenMP wait by default. libgomp's default spins ~300000 iterations at every barrier
// before it sleeps; with another process on one of the two cores the spinning thread takes the
// time slice the working thread needs, and a 2-thread step ran 8-50× slower (issue 20, item 4).
// libgomp reads OMP_WAIT_POLICY / GOMP_SPINCOUNT once, in its own constructor, which runs before
// any constructor of the program (setenv from a constructor was verified too late, with
// OMP_DISPLAY_ENV=verbose), so the only reliable way is to set them and re-execute.
#pragma once

namespace lethe {

// When neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT is set (and LETHE_OMP_WAIT is not "keep"), sets
// OMP_WAIT_POLICY=passive and re-executes /proc/self/exe with the same arguments. Returns
// normally when nothing is to be done or when the exec fails (the program then runs with the
// default policy). Call first thing in main(), before any OpenMP region.
void reexec_with_yielding_omp_wait(char** argv);

}  // namespace lethe
