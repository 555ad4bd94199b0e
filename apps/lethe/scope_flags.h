// The layer-scope options every command that unlearns takes (unlearn, profile): `--layers` and
// `--cache-mb`, with one help text.
#pragma once
#include <CLI/CLI.hpp>

#include "unlearn/method.h"

namespace lethe::app {

void add_scope_flags(CLI::App* sub, unlearn::UnlearnOptions& opt);

}  // namespace lethe::app
