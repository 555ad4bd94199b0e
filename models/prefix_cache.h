// The output of a model's frozen prefix, computed once per sample and kept in memory, so that a
// method training only the last layers runs the suffix alone (Classifier::forward_suffix). Valid
// while the prefix does not change: its parameters frozen, its modules in eval mode (layer
// scopes pin them, unlearn/scope.h) and its inputs fixed (no augmentation, no input-space attack).
// Shared by the unlearning methods (unlearn/prefix.h) and anything that wants a head's features.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/dataset.h"
#include "data/normalization.h"
#include "models/classifier.h"

namespace lethe::models {

// Where the trainable part of a model begins: the cut (Classifier::forward_prefix) below which no
// parameter requires a gradient; cut = -1 and a reason when there is no such cut with a prefix
// worth caching.
struct FrozenCut {
  int64_t cut = -1;
  std::string at;      // the block path the suffix starts with, or "features"
  std::string reason;  // why not, when cut < 0
};
FrozenCut frozen_prefix_cut(const Classifier& model);

// The suffix of a model from `cut` as a Classifier of its own, whose input is the prefix's output
// (e.g. a cached feature row): attacks and searches in feature space run on it. It shares the
// model's modules (registered as its child "model", so mode and freezing reach them).
class SuffixView : public Classifier {
 public:
  SuffixView(std::shared_ptr<Classifier> model, int64_t cut)
      : model_(register_module("model", std::move(model))), cut_(cut) {}
  std::string type_name() const override { return "SuffixView"; }
  Tensor forward(const Tensor& h) override { return model_->forward_suffix(h, cut_); }
  // Only a cut at the features splits the view into features and head.
  Tensor forward_features(const Tensor& h) override {
    LETHE_CHECK(cut_ == model_->num_blocks(), "suffix view: no features inside a block cut");
    return h;
  }
  Tensor forward_head(const Tensor& f) override { return model_->forward_head(f); }
  int64_t num_features() const override { return model_->num_features(); }
  std::string head_prefix() const override { return "model." + model_->head_prefix(); }

 private:
  std::shared_ptr<Classifier> model_;
  int64_t cut_;
};

class PrefixCache {
 public:
  // Features of the prefix up to `cut`; adding more than `max_bytes` of features is refused.
  PrefixCache(int64_t cut, int64_t max_bytes) : cut_(cut), max_bytes_(max_bytes) {}

  int64_t cut() const { return cut_; }
  // Bytes of features held, the number of rows, and the shape of one row.
  int64_t bytes() const { return static_cast<int64_t>(data_.size() * sizeof(float)); }
  int64_t rows() const { return static_cast<int64_t>(slot_.size()); }
  const Shape& row_shape() const { return row_shape_; }
  bool contains(int64_t key) const { return slot_.count(key) != 0; }

  // Computes the prefix of dataset rows `rows` of `d` not cached yet (key = the row), in eval
  // mode without a graph, `batch` rows at a time. Returns false, adding nothing, when the
  // result would exceed the byte budget (the size is known after the first row).
  bool add_rows(Classifier& model, const data::Dataset& d, const std::vector<int64_t>& rows,
                const data::Normalization& norm, int64_t batch);
  // The same for inputs x01 ([N, ...] in [0,1], e.g. adversarial points) under keys first..+N-1.
  bool add_inputs(Classifier& model, const Tensor& x01, int64_t first_key,
                  const data::Normalization& norm, int64_t batch);

  // The features of `keys`, stacked in order: f32 [n, row_shape...] on the host. Throws a
  // lethe::Error naming a key that is not cached.
  Tensor gather(const std::vector<int64_t>& keys) const;

 private:
  bool fits(int64_t n_new, const Tensor& first_out);
  void append(const Tensor& out, const std::vector<int64_t>& keys);

  int64_t cut_;
  int64_t max_bytes_;
  Shape row_shape_;
  int64_t row_numel_ = 0;
  std::vector<float> data_;
  std::unordered_map<int64_t, int64_t> slot_;  // key -> row in data_
};

}  // namespace lethe::models
