// Dataset: an in-memory labelled dataset (u8 images [N,C,H,W] or f32 tabular rows [N,F]) and the
// train/test pair every loader returns.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace lethe::data {

struct Dataset {
  Tensor images;  // u8 [N,C,H,W] for image data, or f32 [N,F] for tabular/synthetic data
  Tensor labels;  // i64 [N], each in [0, num_classes)
  int64_t num_classes = 0;
  std::vector<std::string> class_names;      // optional; when set, one per class
  Tensor protected_attr;                     // optional i64 [N] (group codes)
  std::vector<std::string> protected_names;  // optional; the value behind each group code
  std::vector<std::string> feature_names;    // optional; tabular columns after encoding
  std::string name;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  bool is_image() const { return images.defined() && images.dim() == 4; }
  // Image geometry; tabular data reports C=1, H=1, W=F so per-sample sizes stay uniform.
  int64_t channels() const { return is_image() ? images.size(1) : 1; }
  int64_t height() const { return is_image() ? images.size(2) : 1; }
  int64_t width() const { return is_image() ? images.size(3) : images.size(1); }
  // Elements per sample (C*H*W or F).
  int64_t sample_numel() const { return channels() * height() * width(); }
  bool has_protected() const { return protected_attr.defined(); }

  // A new dataset holding the given rows (copied) in the given order; indices are checked.
  Dataset subset(const std::vector<int64_t>& indices) const;
  // Samples per class.
  std::vector<int64_t> class_counts() const;
  // Throws if shapes, dtypes or label values are inconsistent; `what` names the source.
  void validate(const std::string& what) const;
};

struct DataSplit {
  Dataset train, test;
};

// 0, 1, …, d.size() − 1: every row of d, in order.
std::vector<int64_t> all_indices(const Dataset& d);

// Rows of `parts` stacked in order (same per-sample shape and dtype); metadata from parts[0].
Dataset concat(const std::vector<Dataset>& parts);

// A stratified deterministic split: per class, a seeded permutation puts round(frac * n_c)
// samples into the test set. Both lists come back sorted.
void stratified_split(const Tensor& labels, int64_t num_classes, double test_fraction,
                      uint64_t seed, std::vector<int64_t>& train_idx,
                      std::vector<int64_t>& test_idx);

}  // namespace lethe::data
