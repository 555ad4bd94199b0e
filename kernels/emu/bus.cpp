// Bus counters, pinned host memory and events of the fake runtime (see bus.h).
#include "kernels/emu/bus.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>

namespace lethe::emu {
namespace {

struct Atomics {
  std::atomic<uint64_t> h2d_bytes{0}, h2d_copies{0}, d2h_bytes{0}, d2h_copies{0}, d2d_bytes{0},
      d2d_copies{0}, memsets{0}, syncs{0}, async_copies{0};
};
Atomics& counters() {
  static Atomics a;
  return a;
}

struct HostRegistry {
  std::mutex m;
  std::set<void*> pinned;
  std::set<EventImpl*> events;
};
HostRegistry& host_registry() {
  static HostRegistry r;
  return r;
}

}  // namespace

struct EventImpl {
  bool recorded = false;
};

BusCounters bus_counters() {
  Atomics& a = counters();
  BusCounters c;
  c.h2d_bytes = a.h2d_bytes;
  c.h2d_copies = a.h2d_copies;
  c.d2h_bytes = a.d2h_bytes;
  c.d2h_copies = a.d2h_copies;
  c.d2d_bytes = a.d2d_bytes;
  c.d2d_copies = a.d2d_copies;
  c.memsets = a.memsets;
  c.syncs = a.syncs;
  c.async_copies = a.async_copies;
  return c;
}

void reset_bus_counters() {
  Atomics& a = counters();
  for (auto* x : {&a.h2d_bytes, &a.h2d_copies, &a.d2h_bytes, &a.d2h_copies, &a.d2d_bytes,
                  &a.d2d_copies, &a.memsets, &a.syncs, &a.async_copies})
    *x = 0;
}

BusCounters operator-(const BusCounters& a, const BusCounters& b) {
  BusCounters c;
  c.h2d_bytes = a.h2d_bytes - b.h2d_bytes;
  c.h2d_copies = a.h2d_copies - b.h2d_copies;
  c.d2h_bytes = a.d2h_bytes - b.d2h_bytes;
  c.d2h_copies = a.d2h_copies - b.d2h_copies;
  c.d2d_bytes = a.d2d_bytes - b.d2d_bytes;
  c.d2d_copies = a.d2d_copies - b.d2d_copies;
  c.memsets = a.memsets - b.memsets;
  c.syncs = a.syncs - b.syncs;
  c.async_copies = a.async_copies - b.async_copies;
  return c;
}

void bus_record_copy(cudaMemcpyKind kind, size_t bytes, bool async) {
  Atomics& a = counters();
  switch (kind) {
    case cudaMemcpyHostToDevice:
      a.h2d_bytes += bytes;
      ++a.h2d_copies;
      break;
    case cudaMemcpyDeviceToHost:
      a.d2h_bytes += bytes;
      ++a.d2h_copies;
      break;
    case cudaMemcpyDeviceToDevice:
      a.d2d_bytes += bytes;
      ++a.d2d_copies;
      return;
    default:
      return;  // host to host: no bus
  }
  if (async)
    ++a.async_copies;
  else
    ++a.syncs;
}

void bus_record_memset() {
  ++counters().memsets;
}

void bus_record_sync() {
  ++counters().syncs;
}

cudaError_t cudaMallocHost(void** p, size_t bytes) {
  void* mem = nullptr;
  if (posix_memalign(&mem, 256, bytes > 0 ? bytes : 1) != 0) return cudaErrorMemoryAllocation;
  HostRegistry& r = host_registry();
  std::lock_guard<std::mutex> g(r.m);
  r.pinned.insert(mem);
  *p = mem;
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* p) {
  if (!p) return cudaSuccess;
  HostRegistry& r = host_registry();
  {
    std::lock_guard<std::mutex> g(r.m);
    if (!r.pinned.erase(p)) return cudaErrorInvalidValue;
  }
  std::free(p);
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned /*flags*/) {
  return cudaStreamCreate(s);  // emulated streams are all synchronous
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned /*flags*/) {
  auto* ev = new EventImpl();
  HostRegistry& r = host_registry();
  std::lock_guard<std::mutex> g(r.m);
  r.events.insert(ev);
  *e = ev;
  return cudaSuccess;
}

namespace {
bool known_event(cudaEvent_t e) {
  HostRegistry& r = host_registry();
  std::lock_guard<std::mutex> g(r.m);
  return r.events.count(e) != 0;
}
}  // namespace

cudaError_t cudaEventDestroy(cudaEvent_t e) {
  HostRegistry& r = host_registry();
  {
    std::lock_guard<std::mutex> g(r.m);
    if (!r.events.erase(e)) return cudaErrorInvalidValue;
  }
  delete e;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
  if (!known_event(e)) return cudaErrorInvalidValue;
  e->recorded = true;  // work is synchronous: complete when recorded
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t e) {
  if (!known_event(e)) return cudaErrorInvalidValue;
  bus_record_sync();
  return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t e, unsigned) {
  return known_event(e) ? cudaSuccess : cudaErrorInvalidValue;  // a device-side wait
}

}  // namespace lethe::emu
