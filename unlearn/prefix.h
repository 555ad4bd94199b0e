// Cached prefix features for the unlearning methods. When the layer scope leaves a frozen prefix
// (models::frozen_prefix_cut) and a method's inputs to it do not change between epochs (no
// augmentation, no input-space attack), the prefix runs once per sample (phase "prefix cache")
// and the method trains the suffix alone on its output (models/prefix_cache.h). What was decided
// and why, the cut, rows, bytes and the parts a method could not cache go to metrics.json's
// "prefix_cache".
#pragma once
#include <string>
#include <vector>

#include "train/trainer.h"
#include "unlearn/method.h"

namespace lethe::unlearn {

// The context's cache, holding (at least) `rows` of ctx.train, or nullptr when it cannot be used:
// `not_fixed` non-empty says why the caller's inputs change (e.g. "augmentation crop,flip"), the
// scope leaves no frozen prefix, --cache-mb is 0, or the features would exceed it.
models::PrefixCache* prefix_cache_for(UnlearnContext& ctx, const std::vector<int64_t>& rows,
                                      const std::string& not_fixed = "");

// Why epoch options `eo` feed changing inputs to the prefix ("" when they do not).
std::string inputs_not_fixed(const train::EpochOptions& eo, const UnlearnContext& ctx);

// Points `eo` at the cache of `rows` when it applies (see prefix_cache_for).
void attach_prefix_cache(UnlearnContext& ctx, train::EpochOptions& eo,
                         const std::vector<int64_t>& rows);

// Records a part of a method that runs the whole network every time (e.g. "adversarial search:
// input space"), listed under prefix_cache.uncached.
void note_uncached(UnlearnContext& ctx, const std::string& part);

}  // namespace lethe::unlearn
