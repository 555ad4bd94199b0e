// Batch transforms: u8 -> f32 [0,1], per-channel normalization, and the training augmentations
// (random crop with zero padding, horizontal flip) drawn from (seed, epoch, sample index).
#pragma once
#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace lethe::data {

// u8 [B,...] -> f32 in [0,1] (x / 255). An f32 tensor comes back as a contiguous copy.
Tensor to_float01(const Tensor& x);
// The 256 values x / 255 (correctly rounded), shared so every u8 -> f32 path agrees bit for bit.
const float* u8_to_float01_table();
// (x - mean[c]) / std[c] per channel of an f32 [B,C,H,W] tensor (or per feature of [B,F]).
// Kept separate from to_float01 because attacks work in [0,1] pixel space.
Tensor normalize(const Tensor& x, const std::vector<float>& mean, const std::vector<float>& std);
// Per-channel mean and standard deviation of a u8 image dataset in [0,1] units.
void channel_stats(const Dataset& d, std::vector<float>& mean, std::vector<float>& std);

struct Augment {
  int64_t crop_pad = 0;  // > 0: random crop of the image padded by this many zero pixels
  bool flip = false;     // random horizontal flip with probability 1/2
  bool enabled() const { return crop_pad > 0 || flip; }
};

// The random choices for one sample: crop offsets dy, dx in [0, 2*pad] and the flip.
struct AugmentDraw {
  int64_t dy = 0, dx = 0;
  bool flip = false;
};
AugmentDraw draw_augment(const Augment& a, uint64_t seed, int64_t epoch, int64_t index);

// One sample, CHW: dst[c][y][x] = src[c][y + dy - pad][x + dx - pad] (0 outside), then mirrored
// if flip. src and dst must not overlap.
void augment_sample(const float* src, float* dst, int64_t c, int64_t h, int64_t w, int64_t pad,
                    const AugmentDraw& d);
// A whole f32 [B,C,H,W] batch; sample b uses the draw for dataset index indices[b].
Tensor augment_batch(const Tensor& x, const std::vector<int64_t>& indices, const Augment& a,
                     uint64_t seed, int64_t epoch);

}  // namespace lethe::data
