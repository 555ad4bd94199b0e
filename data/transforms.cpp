// Transforms. Augmentation draws come from Philox keyed by (seed, epoch) with the dataset index
// as counter, so a sample's augmentation does not depend on batch composition or timing.
#include "data/transforms.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "data/random.h"

namespace lethe::data {

const float* u8_to_float01_table() {
  static const auto table = [] {
    std::array<float, 256> t{};
    for (int i = 0; i < 256; ++i) t[static_cast<size_t>(i)] = static_cast<float>(i) / 255.0f;
    return t;
  }();
  return table.data();
}

Tensor to_float01(const Tensor& x) {
  if (x.dtype() == DType::F32) return x.clone();
  LETHE_CHECK(x.dtype() == DType::U8, "to_float01: expected u8 or f32, got ",
              dtype_name(x.dtype()));
  Tensor src = x.is_contiguous() ? x : x.clone();
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  const uint8_t* s = src.data<uint8_t>();
  float* d = out.data<float>();
  const int64_t n = x.numel();
  const float* lut = u8_to_float01_table();
  for (int64_t i = 0; i < n; ++i) d[i] = lut[s[i]];
  return out;
}

Tensor normalize(const Tensor& x, const std::vector<float>& mean, const std::vector<float>& std) {
  LETHE_CHECK(x.dtype() == DType::F32 && (x.dim() == 4 || x.dim() == 2),
              "normalize: expected f32 [B,C,H,W] or [B,F], got ", dtype_name(x.dtype()), " ",
              shape_str(x.shape()));
  const int64_t c = x.size(1);
  LETHE_CHECK(static_cast<int64_t>(mean.size()) == c && static_cast<int64_t>(std.size()) == c,
              "normalize: ", mean.size(), " means and ", std.size(), " stds for ", c, " channels");
  for (float s : std) LETHE_CHECK(s > 0, "normalize: std must be positive, got ", s);
  Tensor out = x.clone();
  float* d = out.data<float>();
  const int64_t b = x.size(0), plane = x.dim() == 4 ? x.size(2) * x.size(3) : 1;
  for (int64_t i = 0; i < b; ++i) {
    for (int64_t k = 0; k < c; ++k) {
      float* p = d + (i * c + k) * plane;
      const float m = mean[static_cast<size_t>(k)], inv = 1.0f / std[static_cast<size_t>(k)];
      for (int64_t j = 0; j < plane; ++j) p[j] = (p[j] - m) * inv;
    }
  }
  return out;
}

void channel_stats(const Dataset& d, std::vector<float>& mean, std::vector<float>& std) {
  LETHE_CHECK(d.is_image() && d.images.dtype() == DType::U8, "channel_stats: ", d.name,
              " is not a u8 image dataset");
  const int64_t n = d.size(), c = d.channels(), plane = d.height() * d.width();
  const uint8_t* x = d.images.data<uint8_t>();
  mean.assign(static_cast<size_t>(c), 0.0f);
  std.assign(static_cast<size_t>(c), 0.0f);
  for (int64_t k = 0; k < c; ++k) {
    // A histogram of the 256 byte values, then two-pass moments over it: exact sums (integer
    // counts), no E[x²] − E[x]² cancellation, one cheap pass over the pixels.
    std::array<int64_t, 256> hist{};
    for (int64_t i = 0; i < n; ++i) {
      const uint8_t* p = x + (i * c + k) * plane;
      for (int64_t j = 0; j < plane; ++j) ++hist[p[j]];
    }
    const double cnt = static_cast<double>(n * plane);
    double s = 0;
    for (int v = 0; v < 256; ++v) s += static_cast<double>(hist[v]) * (v / 255.0);
    const double m = cnt > 0 ? s / cnt : 0.0;
    double dev = 0;
    for (int v = 0; v < 256; ++v)
      dev += static_cast<double>(hist[v]) * (v / 255.0 - m) * (v / 255.0 - m);
    mean[static_cast<size_t>(k)] = static_cast<float>(m);
    std[static_cast<size_t>(k)] = static_cast<float>(cnt > 0 ? std::sqrt(dev / cnt) : 1.0);
  }
}

AugmentDraw draw_augment(const Augment& a, uint64_t seed, int64_t epoch, int64_t index) {
  AugmentDraw d;
  d.dy = d.dx = a.crop_pad;  // identity crop unless cropping is on
  if (!a.enabled()) return d;
  const rng::Philox4 r = rng::philox4x32(static_cast<uint64_t>(index),
                                         stream_key(seed, kAugment, static_cast<uint64_t>(epoch)));
  if (a.crop_pad > 0) {
    const auto span = static_cast<uint64_t>(2 * a.crop_pad + 1);
    d.dy = static_cast<int64_t>((uint64_t{r.v[0]} * span) >> 32);
    d.dx = static_cast<int64_t>((uint64_t{r.v[1]} * span) >> 32);
  }
  d.flip = a.flip && (r.v[2] & 1u);
  return d;
}

void augment_sample(const float* src, float* dst, int64_t c, int64_t h, int64_t w, int64_t pad,
                    const AugmentDraw& d) {
  const int64_t oy = d.dy - pad, ox = d.dx - pad;
  for (int64_t k = 0; k < c; ++k) {
    const float* s = src + k * h * w;
    float* o = dst + k * h * w;
    for (int64_t y = 0; y < h; ++y) {
      const int64_t sy = y + oy;
      float* row = o + y * w;
      if (sy < 0 || sy >= h) {
        std::memset(row, 0, sizeof(float) * static_cast<size_t>(w));
        continue;
      }
      for (int64_t x = 0; x < w; ++x) {
        const int64_t sx = x + ox;
        const float v = (sx >= 0 && sx < w) ? s[sy * w + sx] : 0.0f;
        row[d.flip ? w - 1 - x : x] = v;
      }
    }
  }
}

Tensor augment_batch(const Tensor& x, const std::vector<int64_t>& indices, const Augment& a,
                     uint64_t seed, int64_t epoch) {
  LETHE_CHECK(x.dtype() == DType::F32 && x.dim() == 4, "augment: expected f32 [B,C,H,W], got ",
              dtype_name(x.dtype()), " ", shape_str(x.shape()));
  LETHE_CHECK(static_cast<int64_t>(indices.size()) == x.size(0), "augment: ", indices.size(),
              " indices for a batch of ", x.size(0));
  Tensor src = x.is_contiguous() ? x : x.clone();
  if (!a.enabled()) return src.clone();
  Tensor out = Tensor::empty(x.shape(), DType::F32);
  const int64_t c = x.size(1), h = x.size(2), w = x.size(3), per = c * h * w;
  for (int64_t b = 0; b < x.size(0); ++b) {
    augment_sample(src.data<float>() + b * per, out.data<float>() + b * per, c, h, w, a.crop_pad,
                   draw_augment(a, seed, epoch, indices[static_cast<size_t>(b)]));
  }
  return out;
}

}  // namespace lethe::data
