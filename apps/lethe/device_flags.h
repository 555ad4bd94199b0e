// The device options every command that computes takes (train, unlearn, eval, bench, profile):
// `--kernels own|vendor`, `--tf32 on|off`, `--deterministic` (engine/backend/device_options.h).
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

namespace lethe::app {

struct DeviceFlags {
  std::string kernels = "own";
  std::string tf32 = "off";
  bool deterministic = false;
  // Validates the values (one-line error naming the option) and makes them the process's.
  void apply() const;
};

std::shared_ptr<DeviceFlags> add_device_flags(CLI::App* sub);

}  // namespace lethe::app
