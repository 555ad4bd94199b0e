#include "engine/backend/device_options.h"

#include <mutex>

#include "engine/core/error.h"

namespace lethe {
namespace {
std::mutex g_m;
DeviceOptions g_options;
}  // namespace

const DeviceOptions& device_options() {
  return g_options;  // written once per process, before any device work (or by tests)
}

void set_device_options(const DeviceOptions& o) {
  std::lock_guard<std::mutex> g(g_m);
  g_options = o;
}

bool parse_kernels_option(const std::string& v) {
  LETHE_CHECK(v == "own" || v == "vendor", "--kernels: unknown '", v, "' (use own or vendor)");
  return v == "vendor";
}

bool parse_tf32_option(const std::string& v) {
  LETHE_CHECK(v == "on" || v == "off", "--tf32: unknown '", v, "' (use on or off)");
  return v == "on";
}

nlohmann::json to_json(const DeviceOptions& o) {
  return {{"kernels", o.vendor ? "vendor" : "own"},
          {"tf32", o.tf32},
          {"deterministic", o.deterministic},
          {"workspace_cap_bytes", o.workspace_cap}};
}

int choose_algo(const AlgoCandidate* c, int n, const DeviceOptions& o) {
  for (int i = 0; i < n; ++i) {
    if (!c[i].ok || c[i].memory > o.workspace_cap) continue;
    if (o.deterministic && !c[i].deterministic) continue;
    if (!o.tf32 && c[i].tensor_op) continue;
    return c[i].algo;
  }
  return -1;
}

}  // namespace lethe
