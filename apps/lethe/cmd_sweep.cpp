// `lethe sweep --from RUN --method M[,M] --layers head,last:1,...,all --forget SPEC --out DIR`:
// every method at every layer scope, each scope's exact reference (scoped retrain) and the full
// retrain, all evaluated, in one table (unlearn/sweep.h). A prefix-list scope is written with '+'
// between its prefixes here (layer4+fc), since ',' separates the scopes.
#include <algorithm>
#include <cstdio>

#include "apps/lethe/commands.h"
#include "unlearn/options.h"
#include "unlearn/registry.h"
#include "unlearn/sweep.h"

namespace lethe::app {
namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t end = s.find(',', pos);
    std::string t = s.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (!t.empty()) out.push_back(t);
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return out;
}

}  // namespace

Command add_sweep(CLI::App& app) {
  auto* sub =
      app.add_subcommand("sweep", "methods × layer scopes, with exact references, one table");
  auto r = std::make_shared<unlearn::SweepRequest>();
  auto methods = std::make_shared<std::string>();
  auto scopes = std::make_shared<std::string>("head,all");
  auto opts = std::make_shared<std::vector<std::string>>();
  sub->add_option("--from", r->from, "the original run directory")->required();
  sub->add_option("--method", *methods, "comma list of methods")->required();
  sub->add_option("--layers", *scopes,
                  "comma list of scopes: head, last:K, all, or prefixes joined by '+'")
      ->capture_default_str();
  sub->add_option("--forget", r->forget, "forget SPEC")->required();
  sub->add_option("--out", r->out, "output directory")->required();
  sub->add_option("--mia", r->mia, "membership attacks for every run (lethe eval --mia)")
      ->capture_default_str();
  sub->add_flag("!--no-bn-stats", r->norm_stats, "skip the normalization statistics");
  sub->add_option("--attack", r->attack,
                  "robustness attacks for every evaluation (lethe eval --attack), e.g. "
                  "pgd-linf:eps=0.1,steps=10");
  sub->add_option("--attack-samples", r->attack_samples, "attack at most N samples per split")
      ->capture_default_str();
  sub->add_option("--epochs", r->opt.epochs, "every method's epochs (not retrain's)");
  sub->add_option("--lr", r->opt.lr, "every method's lr (not retrain's)");
  sub->add_option("--batch", r->opt.batch)->capture_default_str();
  sub->add_option("--seed", r->opt.seed)->capture_default_str();
  sub->add_option("--cache-mb", r->opt.cache_mb, "prefix-cache budget in MiB (0 = off)")
      ->capture_default_str();
  sub->add_option("--opt", *opts, "method option KEY=VALUE (repeatable, every method)");
  sub->add_option("--threads", r->threads, "0 = all cores");
  sub->add_flag("--overwrite", r->overwrite, "replace results in an existing --out");
  return {sub, [r, methods, scopes, opts] {
            r->methods = split(*methods);
            for (std::string s : split(*scopes)) {
              std::replace(s.begin(), s.end(), '+', ',');
              r->scopes.push_back(s);
            }
            r->opt.extra = unlearn::parse_method_options(*opts);
            unlearn::run_sweep(*r);
            return 0;
          }};
}

}  // namespace lethe::app
