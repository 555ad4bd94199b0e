// An ensemble of classifiers answering as one (SISA's shard models): forward() returns, per
// sample, the vote counts plus half the mean softmax (the softmax part only breaks ties: it is
// < 1 in total) for Vote, or the mean softmax for Softmax; argmax is the ensemble's prediction.
// Gradients flow through the softmax term only (votes are piecewise constant), so an input-space
// attack on the ensemble follows its mean probability. The ensemble's state dict is member 0's
// (its tensors are registered under member 0's own names), so saving it as model.safetensors
// writes a valid single-model checkpoint of member 0.
//
// A run directory whose model is an ensemble says so in ensemble.json ({"members": [checkpoint
// paths relative to the directory], "aggregate": "vote"|"softmax"}); load_run_model() then
// rebuilds the ensemble, so evaluation queries what the run answers queries with.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "models/classifier.h"

namespace lethe::models {

class Ensemble : public Classifier {
 public:
  enum class Aggregate { Vote, Softmax };
  Ensemble(std::vector<std::shared_ptr<Classifier>> members, Aggregate agg);
  static Aggregate parse_aggregate(const std::string& s);  // "vote" | "softmax"
  static const char* aggregate_name(Aggregate a);

  std::string type_name() const override { return "Ensemble"; }
  Tensor forward(const Tensor& x) override;
  // Features of every member side by side; the head splits them back and aggregates.
  Tensor forward_features(const Tensor& x) override;
  Tensor forward_head(const Tensor& f) override;
  int64_t num_features() const override;
  std::string head_prefix() const override { return members_[0]->head_prefix(); }
  void train(bool on = true) override;

  const std::vector<std::shared_ptr<Classifier>>& members() const { return members_; }
  Aggregate aggregate_kind() const { return agg_; }
  void set_aggregate(Aggregate a) { agg_ = a; }
  // The aggregate of given member logits (each [N, classes]), as forward() computes it.
  static Tensor aggregate_logits(const std::vector<Tensor>& logits, Aggregate agg);

 private:
  std::vector<std::shared_ptr<Classifier>> members_;
  Aggregate agg_;
};

// Writes dir/ensemble.json atomically; `members` are checkpoint paths relative to `dir`.
void write_ensemble_json(const std::string& dir, const std::vector<std::string>& members,
                         Ensemble::Aggregate agg);

// The model run directory `dir` answers queries with: the ensemble of ensemble.json when present
// (config and metadata: member 0's), else model.safetensors.
Checkpoint load_run_model(const std::string& dir);

}  // namespace lethe::models
