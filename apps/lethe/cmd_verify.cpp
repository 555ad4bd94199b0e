// `lethe verify FILE.safetensors`: PyTorch parity of a model reference file (see models/verify.h).
#include <cstdio>
#include <string>

#include "apps/lethe/commands.h"
#include "models/verify.h"

namespace lethe::app {

Command add_verify(CLI::App& app) {
  auto* sub = app.add_subcommand("verify", "PyTorch parity of a model reference file");
  auto file = std::make_shared<std::string>();
  sub->add_option("file", *file, "reference file (.safetensors with param.*, input.*, ...)")
      ->required();
  return {sub, [file] {
            models::VerifyReport r = models::verify_reference(*file);
            std::fputs(r.to_string().c_str(), stdout);
            return r.ok() ? 0 : 1;
          }};
}

}  // namespace lethe::app
