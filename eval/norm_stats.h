// Normalization statistics and the fairness gap: for every BatchNorm2d and LayerNorm of a model,
// per class and per channel, the count, mean and variance of the layer's input x, of the
// normalized activation x̂ = (x − μ)/sqrt(σ² + eps) (BN: running statistics, eval mode; LN: the
// token's own statistics over the normalized dimension) and of the output y = γ·x̂ + β.
// Channel = BN channel (over the N·H·W positions of a class's samples) or LN feature (over the
// tokens of a class's samples). One pass: per batch, exact two-pass moments in double, merged
// into the running totals with Chan et al.'s parallel formula.
//
// The fairness gap of layer l (after studies of how per-class activation statistics shift under
// unlearning) uses the standard deviation σ_{c,k} of the layer's INPUT (what BN normalizes) for
// class c and channel k, with population variances (divide by n):
//   fairness_gap              max_c mean_k σ_{c,k} − min_c mean_k σ_{c,k}
//   fairness_gap_var          the same with σ² in place of σ
//   fairness_gap_channel_max  max_k (max_c σ_{c,k} − min_c σ_{c,k})
//   fairness_gap_channel_mean mean_k (max_c σ_{c,k} − min_c σ_{c,k})
//   fairness_gap_normalized   fairness_gap of x̂;  fairness_gap_output  fairness_gap of y.
// Only classes with samples take part; with fewer than two the gaps are 0.
#pragma once
#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "data/dataset.h"
#include "data/normalization.h"
#include "engine/nn/module.h"
#include "engine/profile/progress.h"
#include "models/classifier.h"

namespace lethe::eval {

// Count, mean and sum of squared deviations of a stream of values.
struct Moments {
  int64_t n = 0;
  double mean = 0, m2 = 0;
  // Chan, Golub & LeVeque's pairwise update: exact for any split of the stream.
  void merge(const Moments& o);
  double var() const { return n > 0 ? m2 / static_cast<double>(n) : 0; }  // population
  double stddev() const;
};

// The three observed quantities.
enum class NormQuantity { Input = 0, Normalized = 1, Output = 2 };
inline constexpr int kNormQuantities = 3;
const char* quantity_name(NormQuantity q);  // "input" | "normalized" | "output"

struct NormLayerStats {
  std::string name;  // dotted module name ("layer1.0.bn1", "blocks.0.norm1")
  std::string type;  // "BatchNorm2d" | "LayerNorm"
  int64_t channels = 0, num_classes = 0;
  std::array<std::vector<Moments>, kNormQuantities> m;  // each [class * channels + channel]

  const Moments& at(NormQuantity q, int64_t c, int64_t k) const {
    return m[static_cast<int>(q)][c * channels + k];
  }
  // Values per channel seen for class c (samples of c × positions or tokens).
  int64_t count(int64_t c) const { return at(NormQuantity::Input, c, 0).n; }
};

struct FairnessGaps {
  double gap = 0, gap_var = 0, channel_max = 0, channel_mean = 0, normalized = 0, output = 0;
  int64_t classes = 0;  // classes with samples
};
FairnessGaps fairness_gaps(const NormLayerStats& s);

struct NormStats {
  std::string split;
  int64_t num_classes = 0;
  std::vector<int64_t> samples_per_class;
  std::vector<NormLayerStats> layers;  // in the order of their first forward
};

// The observer: install it with nn::ObserverGuard (or use run()), give it the labels of each
// batch before that batch's forward, and it accumulates every BatchNorm2d and LayerNorm of
// `model` that runs. Modules outside `model` are ignored.
class NormStatsCollector : public nn::ForwardObserver {
 public:
  NormStatsCollector(nn::Module& model, int64_t num_classes);
  // Labels (in [0, num_classes)) of the rows of the next forward's batch; they are counted in
  // samples_per_class().
  void set_labels(std::vector<int64_t> labels);
  void after(const nn::Module& m, const Tensor& in, const Tensor& out) override;
  // Eval mode, no graph, this collector installed: model.forward(x) on an already normalized
  // batch x with its labels. The model's mode is restored.
  void run(models::Classifier& model, const Tensor& x, const std::vector<int64_t>& labels);

  const std::vector<NormLayerStats>& layers() const { return layers_; }
  const std::vector<int64_t>& samples_per_class() const { return samples_; }
  NormStats result(const std::string& split) const;

 private:
  NormLayerStats& layer_for(const nn::Module& m, const std::string& type, int64_t channels);

  int64_t num_classes_;
  std::unordered_map<const nn::Module*, std::string> names_;
  std::unordered_map<const nn::Module*, size_t> index_;
  std::vector<NormLayerStats> layers_;
  std::vector<int64_t> labels_, samples_;
};

// Runs `model` over d's rows `indices` in batches (no shuffling; the loader and normalization
// train::predict_logits uses) with the rows' labels, and returns the statistics.
NormStats collect_norm_stats(models::Classifier& model, const data::Dataset& d,
                             const std::vector<int64_t>& indices, const data::Normalization& norm,
                             const std::string& split, int64_t batch = 256,
                             profile::Progress* progress = nullptr);

// metrics.json's "bn_stats": {"split", "samples", "samples_per_class", "quantity", "order":
// [layer names in forward order], "layers": {name: {"type", "channels", "classes",
// "fairness_gap", "fairness_gap_var", "fairness_gap_channel_max", "fairness_gap_channel_mean",
// "fairness_gap_normalized", "fairness_gap_output"}}, "mean_fairness_gap" (null without
// layers)}.
nlohmann::json norm_stats_json(const NormStats& s);

// Tables in `dir`, each written atomically: bn_stats_layers.csv (a row per layer, every gap),
// bn_stats_classes.csv (a row per layer × class: count and channel-averaged mean and std of
// input, normalized and output), and, when `channels`, bn_stats_channels.csv (a row per layer ×
// class × channel: count, mean and var of the three). Returns the file names written.
std::vector<std::string> write_norm_stats_csv(const NormStats& s, const std::string& dir,
                                              bool channels = true);

}  // namespace lethe::eval
