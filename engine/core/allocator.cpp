#include "engine/core/allocator.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "engine/core/error.h"

namespace lethe {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kGuard = 64;  // sentinel bytes on each side in guard mode
constexpr uint8_t kSentinel = 0xA5;

// Size classes: exact 64-byte multiples below 1 MiB, 1/8-power-of-two steps above, so a cached
// block is at most ~12% larger than the request.
size_t size_class(size_t bytes) {
  size_t b = (bytes + kAlign - 1) / kAlign * kAlign;
  if (b == 0) b = kAlign;
  if (b <= (1u << 20)) return b;
  size_t p = 1;
  while (p < b) p <<= 1;
  size_t step = p / 16;
  return (b + step - 1) / step * step;
}

struct Block {
  uint8_t* base;  // what aligned_alloc returned
  size_t cls;     // size class (usable bytes)
  bool guarded;
};

}  // namespace

struct Allocator::Impl {
  mutable std::mutex mu;
  std::multimap<size_t, uint8_t*> free_plain;  // size class -> base
  std::multimap<size_t, uint8_t*> free_guarded;
  std::unordered_map<void*, Block> live;  // user pointer -> block
  AllocatorStats st;
  bool guard = false;
};

Allocator& Allocator::instance() {
  // Intentionally leaked: tensors in static objects may be released during exit.
  static Allocator* a = new Allocator();
  return *a;
}

Allocator::~Allocator() = default;

Allocator::Impl* Allocator::impl() {
  static Impl* i = new Impl();
  return i;
}

static bool guards_intact(const Block& b) {
  if (!b.guarded) return true;
  for (size_t i = 0; i < kGuard; ++i) {
    if (b.base[i] != kSentinel || b.base[kGuard + b.cls + i] != kSentinel) return false;
  }
  return true;
}

void* Allocator::allocate(size_t bytes) {
  Impl* I = impl();
  size_t cls = size_class(bytes);
  std::lock_guard<std::mutex> lock(I->mu);
  I->st.allocations++;
  bool guarded = I->guard;
  auto& pool = guarded ? I->free_guarded : I->free_plain;
  uint8_t* base = nullptr;
  auto it = pool.find(cls);
  if (it != pool.end()) {
    base = it->second;
    pool.erase(it);
    I->st.cached_bytes -= cls;
    I->st.cache_hits++;
  } else {
    size_t total = cls + (guarded ? 2 * kGuard : 0);
    base = static_cast<uint8_t*>(std::aligned_alloc(kAlign, total));
    if (!base) {
      // Give the cache back to the system once before failing.
      for (auto& [c, p] : I->free_plain) std::free(p);
      for (auto& [c, p] : I->free_guarded) std::free(p);
      I->free_plain.clear();
      I->free_guarded.clear();
      I->st.cached_bytes = 0;
      base = static_cast<uint8_t*>(std::aligned_alloc(kAlign, total));
      LETHE_CHECK(base, "allocator: out of memory allocating ", bytes, " bytes");
    }
  }
  uint8_t* user = base;
  if (guarded) {
    std::memset(base, kSentinel, kGuard);
    std::memset(base + kGuard + cls, kSentinel, kGuard);
    user = base + kGuard;
  }
  I->live[user] = Block{base, cls, guarded};
  I->st.in_use_bytes += cls;
  if (I->st.in_use_bytes > I->st.peak_bytes) I->st.peak_bytes = I->st.in_use_bytes;
  return user;
}

void Allocator::release(void* ptr, size_t /*bytes*/) {
  if (!ptr) return;
  Impl* I = impl();
  std::lock_guard<std::mutex> lock(I->mu);
  auto it = I->live.find(ptr);
  if (it == I->live.end()) {
    std::fprintf(stderr, "lethe allocator: release of unknown pointer %p\n", ptr);
    std::abort();
  }
  Block b = it->second;
  I->live.erase(it);
  if (!guards_intact(b)) {
    // A kernel wrote outside its buffer: fail loudly where it can be debugged.
    std::fprintf(stderr, "lethe allocator: buffer overrun detected at %p (%zu bytes)\n", ptr,
                 b.cls);
    std::abort();
  }
  I->st.in_use_bytes -= b.cls;
  I->st.cached_bytes += b.cls;
  (b.guarded ? I->free_guarded : I->free_plain).emplace(b.cls, b.base);
}

AllocatorStats Allocator::stats() const {
  Impl* I = const_cast<Allocator*>(this)->impl();
  std::lock_guard<std::mutex> lock(I->mu);
  return I->st;
}

void Allocator::reset_peak() {
  Impl* I = impl();
  std::lock_guard<std::mutex> lock(I->mu);
  I->st.peak_bytes = I->st.in_use_bytes;
}

void Allocator::empty_cache() {
  Impl* I = impl();
  std::lock_guard<std::mutex> lock(I->mu);
  for (auto& [c, p] : I->free_plain) std::free(p);
  for (auto& [c, p] : I->free_guarded) std::free(p);
  I->free_plain.clear();
  I->free_guarded.clear();
  I->st.cached_bytes = 0;
}

void Allocator::set_guard_mode(bool on) {
  Impl* I = impl();
  std::lock_guard<std::mutex> lock(I->mu);
  I->guard = on;
}

bool Allocator::guard_mode() const {
  Impl* I = const_cast<Allocator*>(this)->impl();
  std::lock_guard<std::mutex> lock(I->mu);
  return I->guard;
}

size_t Allocator::check_guards() const {
  Impl* I = const_cast<Allocator*>(this)->impl();
  std::lock_guard<std::mutex> lock(I->mu);
  size_t bad = 0;
  for (auto& [p, b] : I->live) bad += guards_intact(b) ? 0 : 1;
  return bad;
}

}  // namespace lethe
