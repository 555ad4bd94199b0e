// What `lethe info` reports: the build (version, commit, type), the backends, the GEMM's ISA path
// (and a LETHE_ISA cap when set), the OpenMP threads, the CPU's vector extensions, and whether
// CUDA is compiled in and a device answers; MPI (library, rank, ranks) and NCCL (engine/dist).
#pragma once
#include <nlohmann/json.hpp>

namespace lethe {

nlohmann::json system_info();

// The build identity recorded in every run directory: commit, build type and the GEMM's ISA path.
nlohmann::json build_info();

}  // namespace lethe
