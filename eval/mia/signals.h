// Per-sample membership signals from a model's logits: cross-entropy loss, confidence p_y,
// prediction entropy and Song & Mittal's modified entropy ("Systematic Evaluation of Privacy
// Risks of Machine Learning Models", USENIX Security 2021), all computed in double from the
// log-softmax, plus their orientation as membership scores (higher = more likely member).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace lethe::eval::mia {

struct Signals {
  int64_t n = 0, classes = 0;
  std::vector<int64_t> label;      // true label y
  std::vector<int64_t> pred;       // argmax of the logits (first maximum on ties)
  std::vector<double> loss;        // −log p_y
  std::vector<double> confidence;  // p_y
  std::vector<double> entropy;     // −Σ_i p_i log p_i
  std::vector<double> m_entropy;   // −(1−p_y) log p_y − Σ_{i≠y} p_i log(1−p_i)
  std::vector<double> prob;        // softmax, row-major [n, classes]
};

// From row-major logits [n, classes] (double) and labels in [0, classes).
Signals compute_signals(const std::vector<double>& logits, int64_t n, int64_t classes,
                        const std::vector<int64_t>& labels);
// From a logits tensor [N, C] (as train::predict_logits returns).
Signals compute_signals(const Tensor& logits, const std::vector<int64_t>& labels);

enum class Signal { Loss, Confidence, Entropy, MEntropy };

// "loss", "confidence", "entropy", "m-entropy" (throws lethe::Error naming the known ones).
Signal parse_signal(const std::string& name);
const char* signal_name(Signal s);

// The signal oriented so that a higher value means "more likely member": −loss, p_y, −entropy,
// −m_entropy (members are fitted: low loss, high confidence, low (modified) entropy).
std::vector<double> membership_score(const Signals& s, Signal which);

}  // namespace lethe::eval::mia
