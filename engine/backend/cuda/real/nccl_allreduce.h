// NCCL for the CUDA backend's gradient all-reduce (engine/dist/device_collectives.h).
#pragma once

namespace lethe::kcuda {
// Registers ncclAllReduce as the "cuda" device all-reduce (once; called when the CUDA device is
// first used). NCCL itself is opened on first collective, by dlopen.
void register_nccl_allreduce();
}  // namespace lethe::kcuda
