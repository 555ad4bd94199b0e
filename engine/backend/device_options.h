// How the device backends (emu, cuda) run GEMM-shaped work, chosen per process from the command
// line (`--kernels own|vendor`, `--tf32 on|off`, `--deterministic`) and recorded in every run's
// metadata. The defaults make a device run comparable with the CPU's float32: Lethe's own
// kernels, no TF32, and vendor algorithms chosen for speed only among those that succeed.
#pragma once
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace lethe {

struct DeviceOptions {
  bool vendor = false;         // cuBLAS for GEMMs, cuDNN for convolutions (real CUDA builds)
  bool tf32 = false;           // allow TF32 tensor-core math in cuBLAS and cuDNN
  bool deterministic = false;  // cuDNN: only algorithms documented as deterministic
  size_t workspace_cap = size_t{256} << 20;  // cuDNN workspace bytes an algorithm may use
};

const DeviceOptions& device_options();
void set_device_options(const DeviceOptions& o);

// --kernels and --tf32 values; throws a one-line error naming the option otherwise.
bool parse_kernels_option(const std::string& v);  // "own" -> false, "vendor" -> true
bool parse_tf32_option(const std::string& v);     // "off" -> false, "on" -> true

nlohmann::json to_json(const DeviceOptions& o);

// The vendor algorithm choice of cuDNN (engine/backend/cuda/real/cudnn_conv.cpp), as data so it
// is tested without a GPU: one entry per algorithm cuDNN's heuristics return, in their order.
struct AlgoCandidate {
  int algo = 0;
  bool ok = false;  // cuDNN returned CUDNN_STATUS_SUCCESS for it
  size_t memory = 0;
  bool deterministic = false;
  bool tensor_op = false;  // tensor-core math: TF32 for float data
};
// The first candidate that succeeded, fits the workspace cap, is deterministic when required and
// uses no tensor-op math unless TF32 is allowed; -1 when none does.
int choose_algo(const AlgoCandidate* c, int n, const DeviceOptions& o);

}  // namespace lethe
