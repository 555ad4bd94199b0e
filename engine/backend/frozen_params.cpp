#include "engine/backend/frozen_params.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace lethe {
namespace {

// 256 MiB of derived forms at most: ResNet-50's transformed 3×3 filters (forward and flipped)
// fit; beyond it a caller derives per call as without a scope.
constexpr int64_t kBudgetFloats = int64_t(64) << 20;

struct Derived {
  std::unique_ptr<float[]> data;
  int64_t floats;
};

struct Frozen {
  int scopes = 0;                       // live scopes naming this tensor
  std::map<uint64_t, Derived> derived;  // by the caller's key
};

struct Registry {
  std::mutex mu;
  std::unordered_map<const void*, Frozen> by_data;
  int64_t floats = 0;
};

std::atomic<int> g_live_scopes{0};

Registry& registry() {
  static Registry r;
  return r;
}

const void* start_of(const Tensor& t) {
  return t.defined() && t.numel() > 0 && t.is_cpu() ? t.data_ptr() : nullptr;
}

}  // namespace

FrozenParams::FrozenParams(std::vector<Tensor> params) : params_(std::move(params)) {
  g_live_scopes.fetch_add(1, std::memory_order_relaxed);
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  for (const Tensor& p : params_)
    if (const void* d = start_of(p)) ++r.by_data[d].scopes;
}

FrozenParams::~FrozenParams() {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  for (const Tensor& p : params_) {
    const void* d = start_of(p);
    auto it = d ? r.by_data.find(d) : r.by_data.end();
    if (it == r.by_data.end() || --it->second.scopes > 0) continue;
    for (const auto& [key, d] : it->second.derived) r.floats -= d.floats;
    r.by_data.erase(it);
  }
  g_live_scopes.fetch_sub(1, std::memory_order_relaxed);
}

namespace detail {

bool any_frozen() {
  return g_live_scopes.load(std::memory_order_relaxed) > 0;
}

const float* frozen_derived(const void* data, uint64_t key, int64_t floats,
                            void (*make)(void* ctx, float* out), void* ctx) {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  auto it = r.by_data.find(data);
  if (it == r.by_data.end()) return nullptr;
  Frozen& f = it->second;
  if (auto d = f.derived.find(key); d != f.derived.end()) return d->second.data.get();
  if (floats <= 0 || r.floats + floats > kBudgetFloats) return nullptr;
  auto buf = std::make_unique_for_overwrite<float[]>(static_cast<size_t>(floats));
  make(ctx, buf.get());
  r.floats += floats;
  return (f.derived[key] = Derived{std::move(buf), floats}).data.get();
}

}  // namespace detail

int64_t frozen_derived_floats() {
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  return r.floats;
}

}  // namespace lethe
