// A model's predictions on rows of a dataset, in eval mode and without a graph: the logits, the
// predicted classes and the accuracy every layer above (training logs, unlearning methods,
// `lethe eval`) reports.
#pragma once
#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "data/normalization.h"
#include "engine/core/tensor.h"
#include "models/classifier.h"

namespace lethe::eval {

// The predicted class of each row of logits [N, C] (first maximum on ties).
std::vector<int64_t> argmax_rows(const Tensor& logits);

// Logits [N, classes] for `indices` in order (eval mode, no graph).
Tensor predict_logits(models::Classifier& model, const data::Dataset& d,
                      const std::vector<int64_t>& indices, const data::Normalization& norm,
                      int64_t batch = 256);

// Accuracy in percent over `indices` (eval mode, no graph). Empty indices -> 0.
double accuracy(models::Classifier& model, const data::Dataset& d,
                const std::vector<int64_t>& indices, const data::Normalization& norm,
                int64_t batch = 256);

}  // namespace lethe::eval
