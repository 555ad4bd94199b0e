// The `lethe bench` job: training-step and inference throughput of a model on random data (step
// time median/min/max over the measured steps after warm-up, images/s, achieved GFLOP/s from the
// profiler's analytic FLOP counts, peak tensor memory and peak resident memory), AMUN's
// adversarial-search throughput (PGD steps per image per second), the GEMM ISA path and the
// commit. It lives in eval/ because the search it times is eval/attacks' PGD. Progress on stderr.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace lethe::eval {

struct BenchRequest {
  std::string model = "resnet18", stem;
  int64_t width = 0, batch = 64, image = 32, channels = 3, classes = 10, steps = 5, warmup = 2;
  int threads = 0;
  int64_t pgd_steps = 10;  // PGD L∞ steps per measured attack (0 skips the search)
  // cpu | emu | cuda: where the model lives. On a device each training step uploads its batch
  // (pinned buffer, copy stream) and reads its loss back, as train_epoch does; on emu the JSON
  // gets the bus traffic of one such step ("bus_per_train_step").
  std::string device = "cpu";
};

// Returns the benchmark's JSON.
nlohmann::json run_bench(const BenchRequest& req);

}  // namespace lethe::eval
