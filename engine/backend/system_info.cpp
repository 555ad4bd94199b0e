#include "engine/backend/system_info.h"

#include <omp.h>

#include <cstdlib>
#include <string>

#include "engine/backend/backend.h"
#include "engine/backend/device.h"
#include "engine/core/build_info.h"
#include "engine/dist/communicator.h"
#include "kernels/cpu/gemm.h"

namespace lethe {

nlohmann::json system_info() {
  nlohmann::json j;
  j["version"] = build_version();
  j["commit"] = build_commit();
  j["build_type"] = build_type();
  j["backends"] = backend_names();
  j["gemm_isa"] = kernels::cpu::gemm_isa_name(kernels::cpu::gemm_isa());
  // The path cap from the environment, when one is set (tests stand in for other hosts).
  if (const char* cap = std::getenv("LETHE_ISA"); cap && *cap) j["lethe_isa"] = cap;
  j["threads"] = omp_get_max_threads();
  j["cpu_avx512f"] = static_cast<bool>(__builtin_cpu_supports("avx512f"));
  j["cpu_avx2"] = static_cast<bool>(__builtin_cpu_supports("avx2"));
  j["cuda_compiled"] = cuda_compiled();
  std::string why = cuda_unavailable_reason();
  j["cuda_device_present"] = why.empty();
  if (!why.empty()) j["cuda_status"] = why;
  j.update(dist::info());  // "mpi" (library, ranks) and "nccl"
  return j;
}

nlohmann::json build_info() {
  return {{"commit", build_commit()},
          {"build_type", build_type()},
          {"gemm_isa", kernels::cpu::gemm_isa_name(kernels::cpu::gemm_isa())}};
}

}  // namespace lethe
