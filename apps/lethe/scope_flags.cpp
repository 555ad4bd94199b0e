#include "apps/lethe/scope_flags.h"

namespace lethe::app {

void add_scope_flags(CLI::App* sub, unlearn::UnlearnOptions& opt) {
  sub->add_option("--layers", opt.layers,
                  "all | head | last:K | prefix,prefix. Outside the scope parameters are frozen "
                  "and modules run in eval mode (BatchNorm uses its running statistics and never "
                  "updates them); in-scope BatchNorm layers update as in training")
      ->capture_default_str();
  sub->add_option("--cache-mb", opt.cache_mb,
                  "budget of the cached frozen-prefix features in MiB (0 = off): with a scope "
                  "and fixed inputs, the prefix runs once per sample and only the suffix trains")
      ->capture_default_str();
}

}  // namespace lethe::app
