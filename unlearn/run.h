// The `lethe unlearn` job: load the original run, split forget/retain, apply the layer scope,
// run the method (once, or over --requests successive deletions), evaluate, and write the run
// directory (config.json, model.safetensors, metrics.json, forget.txt).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "unlearn/method.h"

namespace lethe::unlearn {

struct UnlearnRequest {
  std::string from, method, forget, out;
  std::string device = "cpu";  // cpu | emu | cuda: where the model lives for the whole run
  int64_t requests = 1;
  int threads = 0;
  bool overwrite = false;
  bool detect_anomaly = false;   // op-level NaN/Inf search (engine/nn/detect_anomaly.h)
  bool resume = false;           // continue a killed run in `out` from its last epoch checkpoint
  int64_t checkpoint_every = 0;  // with resume: also every N steps inside an epoch
  std::string max_memory;        // refuse a --batch estimated not to fit ("" = available memory)
  UnlearnOptions opt;
};

// Returns metrics.json's content.
nlohmann::json run_unlearning(const UnlearnRequest& req);

// The settings that decide an unlearning run's result (from, method, forget, epochs, lr, batch,
// seed, no_retain, layers, options): config.json records them, and a resume checkpoint, a finished
// sweep run and a tune search are recognised by them.
nlohmann::json unlearn_identity(const std::string& from, const std::string& method,
                                const std::string& forget, const UnlearnOptions& opt);

// OUT/seed-<seed>: one run of a seeds group.
std::string seed_dir(const std::string& out, uint64_t seed);

// `lethe unlearn --seeds N`: the request once per seed req.opt.seed, …, req.opt.seed + N − 1, each
// into seed_dir(req.out, seed) — a seeds group, one row of lethe compare. The forget set is the
// same for every seed (fixed by --forget and the original run). Existing results in any of the N
// directories are refused before anything runs unless req.overwrite. Writes OUT/seeds.json (the
// runs and mean ± sd of their accuracies) last and returns it.
nlohmann::json run_unlearning_seeds(const UnlearnRequest& req, int64_t seeds);

}  // namespace lethe::unlearn
