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
  bool detect_anomaly = false;
  bool resume = false;  // continue a killed run in `out` from its last epoch checkpoint  //
                        // op-level NaN/Inf search (engine/nn/detect_anomaly.h)
  UnlearnOptions opt;
};

// Returns metrics.json's content.
nlohmann::json run_unlearning(const UnlearnRequest& req);

}  // namespace lethe::unlearn
