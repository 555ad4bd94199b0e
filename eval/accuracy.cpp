// Overall and per-class accuracy and true-label confidence from logits (eval/accuracy.h).
#include "eval/accuracy.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "engine/ops/ops.h"

namespace lethe::eval {

SplitAccuracy split_accuracy(const Tensor& logits, const std::vector<int64_t>& labels,
                             int64_t classes) {
  SplitAccuracy a;
  const int64_t n = static_cast<int64_t>(labels.size());
  a.per_class.assign(static_cast<size_t>(classes), -1.0);
  a.count.assign(static_cast<size_t>(classes), 0);
  if (n == 0) return a;
  LETHE_CHECK(logits.dim() == 2 && logits.size(0) == n, "split_accuracy: logits ",
              shape_str(logits.shape()), " do not match ", n, " labels");
  Tensor l = logits.is_contiguous() ? logits : ops::contiguous(logits);
  if (l.dtype() != DType::F32) l = l.to(DType::F32);
  const int64_t c = l.size(1);
  const float* p = l.data<float>();
  std::vector<int64_t> correct(static_cast<size_t>(classes), 0);
  a.confidence.resize(static_cast<size_t>(n));
  int64_t right = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = p + i * c;
    int64_t y = labels[static_cast<size_t>(i)];
    LETHE_CHECK(y >= 0 && y < classes && y < c, "split_accuracy: label ", y, " out of range");
    int64_t arg = 0;
    double mx = row[0];
    for (int64_t j = 1; j < c; ++j)
      if (row[j] > mx) mx = row[j], arg = j;  // first maximum, as train::argmax_rows
    double z = 0;
    for (int64_t j = 0; j < c; ++j) z += std::exp(static_cast<double>(row[j]) - mx);
    a.confidence[static_cast<size_t>(i)] = std::exp(static_cast<double>(row[y]) - mx) / z;
    a.count[static_cast<size_t>(y)] += 1;
    if (arg == y) {
      ++right;
      correct[static_cast<size_t>(y)] += 1;
    }
  }
  a.acc = 100.0 * static_cast<double>(right) / static_cast<double>(n);
  for (int64_t k = 0; k < classes; ++k)
    if (a.count[static_cast<size_t>(k)] > 0)
      a.per_class[static_cast<size_t>(k)] = 100.0 *
                                            static_cast<double>(correct[static_cast<size_t>(k)]) /
                                            static_cast<double>(a.count[static_cast<size_t>(k)]);
  return a;
}

nlohmann::json to_json(const SplitAccuracy& a) {
  nlohmann::json pc = nlohmann::json::array();
  for (double v : a.per_class) pc.push_back(v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v));
  return {{"acc", a.acc}, {"per_class", pc}, {"count", a.count}};
}

}  // namespace lethe::eval
