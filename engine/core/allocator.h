// Host memory for tensors: 64-byte aligned blocks from a cache that reuses freed blocks of the
// same size class (training allocates the same shapes every step), with current and peak byte
// counters for the profiler. In guard mode every block is framed by sentinel bytes that are
// checked when the block is released and on demand (the op harness uses this).
#pragma once
#include <cstddef>
#include <cstdint>

namespace lethe {

struct AllocatorStats {
  size_t in_use_bytes = 0;   // bytes handed out and not yet released
  size_t peak_bytes = 0;     // maximum of in_use_bytes since the last reset_peak()
  size_t cached_bytes = 0;   // freed blocks kept for reuse
  uint64_t allocations = 0;  // calls to allocate()
  uint64_t cache_hits = 0;   // of which served from the cache
};

class Allocator {
 public:
  static Allocator& instance();
  void* allocate(size_t bytes);
  void release(void* ptr, size_t bytes);
  AllocatorStats stats() const;
  void reset_peak();
  void empty_cache();
  // Sentinel frames around every new block (existing blocks are unaffected).
  void set_guard_mode(bool on);
  bool guard_mode() const;
  // Verifies the sentinels of every live guarded block; returns the number corrupted.
  size_t check_guards() const;

  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

 private:
  Allocator() = default;
  ~Allocator();
  struct Impl;
  Impl* impl();
};

}  // namespace lethe
