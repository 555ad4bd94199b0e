// Parameters declared unchanged for a while, so a backend may keep what it derives from them.
// An attack runs hundreds of forward + input-gradient passes through one model whose weights do
// not move; every 3×3 convolution re-transformed its filters (Winograd's U = G g Gᵀ, forward and
// flipped for the backward-data pass) on each of them: 8-12% of a PGD step at batch 8. Inside a
// FrozenParams scope the CPU convolution transforms a listed weight once and reuses it.
// The scope holds the tensors (their storage cannot be freed and its address reused while it
// lives); its contract is that nobody writes them meanwhile. Scopes nest; a derived form lives
// until the last scope naming its tensor ends.
#pragma once
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "engine/core/tensor.h"

namespace lethe {

class FrozenParams {
 public:
  explicit FrozenParams(std::vector<Tensor> params);
  ~FrozenParams();
  FrozenParams(const FrozenParams&) = delete;
  FrozenParams& operator=(const FrozenParams&) = delete;

 private:
  std::vector<Tensor> params_;
};

namespace detail {
bool any_frozen();  // a scope is live (one relaxed atomic read: no lock while none is)
const float* frozen_derived(const void* data, uint64_t key, int64_t floats,
                            void (*make)(void* ctx, float* out), void* ctx);
}  // namespace detail

// The derived form of the frozen tensor whose data starts at `data`, identified by `key` (the
// caller's encoding of what it derived: kind, geometry, layout), `floats` long: made by
// `make(float* out)` the first time and kept. nullptr when no live scope names that tensor, or
// when keeping it would pass the cache's budget (the caller then derives it itself). The pointer
// is valid until the scope ends. Called on every 3×3 convolution: with no scope live it costs one
// atomic read (no lock, no allocation).
template <class F>
const float* frozen_derived(const void* data, uint64_t key, int64_t floats, F&& make) {
  if (!detail::any_frozen()) return nullptr;
  using Fn = std::remove_reference_t<F>;
  return detail::frozen_derived(
      data, key, floats, [](void* ctx, float* out) { (*static_cast<Fn*>(ctx))(out); },
      const_cast<void*>(static_cast<const void*>(std::addressof(make))));
}

// Floats held by derived forms now (for tests and memory reports).
int64_t frozen_derived_floats();

}  // namespace lethe
