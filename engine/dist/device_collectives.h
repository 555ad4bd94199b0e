// Collectives on device memory (issue 21: "NCCL all-reduce for CUDA tensors"). A device backend
// that has a collective library registers its all-reduce here; the gradient reducer
// (grad_reducer.h) then sums a device bucket in place on the device instead of staging it
// through host memory for MPI. The CUDA build registers NCCL's ncclAllReduce
// (engine/backend/cuda/real/nccl_allreduce.cpp); the emulator registers nothing, so emu tensors
// keep the staged MPI path — which is why no test here runs the NCCL path: it needs GPUs.
#pragma once
#include <string>

#include "engine/core/tensor.h"
#include "engine/dist/communicator.h"

namespace lethe::dist {

// Sums `buf` (contiguous float32, on the device of the registering backend) over `comm`, in
// place, ordered on the backend's stream. Throws one line on a library error.
using DeviceAllreduce = void (*)(const Communicator& comm, Tensor& buf);

// `backend`: the device's name as Device::name() gives it, before any ":K" ("cuda").
// `library`: the library and version behind it, for lethe info. fn == nullptr removes it.
void register_device_allreduce(const std::string& backend, DeviceAllreduce fn,
                               const std::string& library);

// The registered all-reduce for tensors on `t`'s device, or nullptr (host tensors, or a device
// without a collective library: the caller stages through host memory).
DeviceAllreduce device_allreduce_for(const Tensor& t);

// "nccl 2.x.y" etc. of every registered library (lethe info), empty when none.
std::string device_collective_libraries();

}  // namespace lethe::dist
