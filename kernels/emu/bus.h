// The emulated bus: what the host glue moves between host and "device" memory, and how often
// the host waits for the device. The fake runtime (runtime.cpp) records every copy and every
// synchronisation here, so a test can assert that a training step copies only its batch, its
// labels and a few scalars, and `lethe bench --device emu` can print the traffic per step.
// Also the pieces of the runtime API that overlapping copies need: pinned host memory, events
// and cross-stream waits. Emulated launches and copies are synchronous, so events are always
// complete; they exist so that the same host glue compiles and runs against the real runtime.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/emu/emu.h"

namespace lethe::emu {

struct BusCounters {
  uint64_t h2d_bytes = 0, h2d_copies = 0;  // host -> device
  uint64_t d2h_bytes = 0, d2h_copies = 0;  // device -> host
  uint64_t d2d_bytes = 0, d2d_copies = 0;  // device -> device (does not cross the bus)
  uint64_t memsets = 0;                    // cudaMemset(Async) calls (device side)
  // Times the host waited for the device: cudaStreamSynchronize, cudaDeviceSynchronize,
  // cudaEventSynchronize, and every synchronous cudaMemcpy to or from host memory (a pageable
  // copy blocks the host until the device is idle).
  uint64_t syncs = 0;
  uint64_t async_copies = 0;  // host<->device copies issued with cudaMemcpyAsync
};
// Totals since the last reset (process-wide; all threads).
BusCounters bus_counters();
void reset_bus_counters();
BusCounters operator-(const BusCounters& a, const BusCounters& b);

// Called by the fake runtime. `kind` is resolved (never cudaMemcpyDefault).
void bus_record_copy(cudaMemcpyKind kind, size_t bytes, bool async);
void bus_record_memset();
void bus_record_sync();

// Page-locked host memory (plain aligned host memory here, tracked so that cudaFreeHost refuses
// pointers it did not hand out).
cudaError_t cudaMallocHost(void** p, size_t bytes);
cudaError_t cudaFreeHost(void* p);

constexpr unsigned cudaStreamDefault = 0;
constexpr unsigned cudaStreamNonBlocking = 1;
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned flags);

struct EventImpl;
using cudaEvent_t = EventImpl*;
constexpr unsigned cudaEventDisableTiming = 2;
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned flags);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaStreamWaitEvent(cudaStream_t s, cudaEvent_t e, unsigned flags);

}  // namespace lethe::emu
