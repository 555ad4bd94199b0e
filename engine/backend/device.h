// The device backends by name. `emu` (the CUDA kernels on the SIMT emulator) is in every build;
// `cuda` exists in builds configured with the CUDA toolkit and is usable only where a driver and
// a device are present. Without one, asking for it is a one-line error (never a crash).
#pragma once
#include <string>

#include "engine/backend/backend.h"

namespace lethe {

Backend& emu_device_backend();
// The same backends as devices: where tensors live (engine/core/device.h).
Device emu_device();
Device cuda_device();
bool cuda_compiled();
// Empty when a CUDA device is usable; otherwise one line saying why not.
std::string cuda_unavailable_reason();
// The real CUDA backend; throws lethe::Error with cuda_unavailable_reason() when it is not usable.
Backend& cuda_device_backend();

}  // namespace lethe
