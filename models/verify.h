// PyTorch parity check of a model reference file (format: ../shared/golden/README.md): the
// logic behind `lethe verify`, shared with the tests.
#pragma once
#include <string>
#include <vector>

#include "models/registry.h"

namespace lethe::models {

// One group of compared tensors; rel_err is the worst over its tensors of
// max|ours − ref| / max|ref| (absolute when the reference is all zeros).
// Against a float64-truth file (metadata "truth": "float64"), a group's tolerance is 4× PyTorch's
// own float32 error on it (metadata "torch_f32_err") or 1e-5, whichever is larger.
struct VerifyGroup {
  std::string name;
  double tol = 0;
  double rel_err = 0;
  double torch_f32_err = -1;  // PyTorch float32's error from the truth; < 0 when not recorded
  std::string worst;          // tensor with the largest error
  int tensors = 0;            // how many were compared
  std::string problem;        // e.g. a missing or misshapen tensor; fails the group
  bool ok() const { return problem.empty() && rel_err <= tol; }
};

struct VerifyReport {
  std::string path;
  ModelConfig config;
  bool float64_truth = false;  // expected values are float64 results (see VerifyGroup)
  std::vector<VerifyGroup> groups;
  bool ok() const;
  // A table, one line per group, and a final PASS/FAIL line.
  std::string to_string() const;
};

// Runs the file's checks: eval logits; train logits and loss; parameter and input gradients;
// running statistics after the train forward; one SGD step. Throws a lethe::Error (one line)
// when the file is unreadable or not a model reference file; tolerance failures are reported.
VerifyReport verify_reference(const std::string& path);

}  // namespace lethe::models
