#include "apps/lethe/device_flags.h"

#include "engine/backend/device_options.h"

namespace lethe::app {

void DeviceFlags::apply() const {
  DeviceOptions o;
  o.vendor = parse_kernels_option(kernels);
  o.tf32 = parse_tf32_option(tf32);
  o.deterministic = deterministic;
  set_device_options(o);
}

std::shared_ptr<DeviceFlags> add_device_flags(CLI::App* sub) {
  auto f = std::make_shared<DeviceFlags>();
  sub->add_option("--kernels", f->kernels,
                  "device GEMMs and convolutions: own (Lethe's kernels) | vendor (cuBLAS, cuDNN)")
      ->capture_default_str();
  sub->add_option("--tf32", f->tf32, "on|off: TF32 tensor-core math in cuBLAS/cuDNN")
      ->capture_default_str();
  sub->add_flag("--deterministic", f->deterministic,
                "cuDNN: only deterministic algorithms (vendor kernels)");
  return f;
}

}  // namespace lethe::app
