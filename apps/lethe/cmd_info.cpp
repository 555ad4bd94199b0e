// `lethe info`: build identity, backends, the ISA path the GEMM uses, threads, CUDA status
// (engine/backend/system_info.h).
#include <cstdio>

#include "apps/lethe/commands.h"
#include "engine/backend/system_info.h"

namespace lethe::app {

Command add_info(CLI::App& app) {
  auto* sub = app.add_subcommand("info", "build, backends, ISA, threads, CUDA status");
  return {sub, [] {
            std::printf("%s\n", system_info().dump(2).c_str());
            return 0;
          }};
}

}  // namespace lethe::app
