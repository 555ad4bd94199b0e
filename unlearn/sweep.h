// The `lethe sweep` job: the depth study in one command. For every layer scope, the scope's own
// exact reference (retrain of the re-initialized suffix, unlearn/retrain.cpp) and every method are
// run on one original and forget set, each evaluated (accuracy, the chosen MIA, normalization
// statistics); the full retrain is the global reference. With the head among the scopes, newton
// (the head's closed-form removal) runs there too, beside the head's retrain; a model it cannot
// serve gets a row saying why. Writes DIR/<method>-<scope>/ and DIR/<method>-<scope>-eval/ per
// run, and sweep.md / sweep.csv / sweep.json (per run: forget, retain, test accuracy, average gap
// to the full retrain and to the scope's reference, MIA, fairness gap, unlearning time, FLOPs and
// peak host tensor memory of the unlearning (metrics.json "flops", "peak_tensor_bytes"),
// prefix-cache bytes) and sweep.svg (average gap against time, one line per method across depth).
// Resumable: a run whose directory and evaluation are complete and whose config.json records the
// same original, method, scope, forget set and settings is not redone (its line says "done").
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unlearn/method.h"

namespace lethe::unlearn {

struct SweepRequest {
  std::string from, forget, out;
  std::vector<std::string> methods;  // e.g. {"ft", "amun", "scrub"}
  std::vector<std::string> scopes;   // e.g. {"head", "last:1", "all"}
  std::string mia = "svc,loss";      // lethe eval --mia list; svc feeds the gap (--gap svc)
  bool norm_stats = true;            // fairness gap per normalization layer
  std::string attack;  // robustness attacks for every evaluation (lethe eval --attack)
  int64_t attack_samples = 1000;
  UnlearnOptions opt;  // epochs, lr, batch, seed, extra, cache_mb (layers unused)
  int threads = 0;
  bool overwrite = false;
};

// Returns sweep.json's content.
nlohmann::json run_sweep(const SweepRequest& req);

}  // namespace lethe::unlearn
