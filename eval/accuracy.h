// Accuracy of a model's logits on a split, overall and per class, and the per-sample confidence
// p_y (the softmax probability of the true label), which the reports histogram.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/core/tensor.h"

namespace lethe::eval {

struct SplitAccuracy {
  double acc = 0;                  // percent; 0 for an empty split
  std::vector<double> per_class;   // percent per class; -1 for a class with no sample
  std::vector<int64_t> count;      // samples per class
  std::vector<double> confidence;  // p_y per sample, in split order
};

// logits [N, C] and labels [N] (i64 values); `classes` >= C's width is allowed.
SplitAccuracy split_accuracy(const Tensor& logits, const std::vector<int64_t>& labels,
                             int64_t classes);

// {"acc", "per_class": [...], "count": [...]}.
nlohmann::json to_json(const SplitAccuracy& a);

}  // namespace lethe::eval
