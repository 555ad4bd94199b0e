// The unlearning interface: every method (one file each in unlearn/) receives the original model
// and the forget/retain split and modifies the model in place. `lethe unlearn` (unlearn/run.*)
// builds the context, runs the method, evaluates and writes the run directory.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/forget.h"
#include "models/classifier.h"
#include "models/prefix_cache.h"
#include "models/registry.h"
#include "train/epoch_checkpoint.h"
#include "train/trainer.h"
#include "unlearn/phases.h"

namespace lethe::unlearn {

struct UnlearnOptions {
  int64_t epochs = -1;  // -1: the method's default
  double lr = -1;       // -1: the method's default
  int64_t batch = 128;
  uint64_t seed = 0;
  bool no_retain = false;                           // only D_F is available
  std::string layers = "all";                       // layer SCOPE (unlearn/scope.h)
  nlohmann::json extra = nlohmann::json::object();  // method-specific options (--opt key=value)
  // Budget of the cached prefix features (unlearn/prefix.h) in MiB; 0 turns the cache off.
  int64_t cache_mb = 1024;

  int64_t epochs_or(int64_t d) const { return epochs >= 0 ? epochs : d; }
  double lr_or(double d) const { return lr > 0 ? lr : d; }
  double extra_or(const std::string& k, double d) const {
    return extra.contains(k) ? extra.at(k).get<double>() : d;
  }
  // A text option (e.g. --opt schedule=salun); a number given for it is rendered as text.
  std::string extra_text_or(const std::string& k, const std::string& d) const {
    if (!extra.is_object() || !extra.contains(k)) return d;
    return extra.at(k).is_string() ? extra.at(k).get<std::string>() : extra.at(k).dump();
  }
};

struct UnlearnContext {
  std::shared_ptr<models::Classifier> model;  // modified in place
  models::ModelConfig model_config;
  const data::Dataset* train = nullptr;
  const data::Dataset* test = nullptr;
  data::ForgetSplit split;  // indices into *train
  data::Normalization norm;
  nlohmann::json original_config;  // the original run's config.json (its training recipe)
  std::string original_dir;
  std::string out_dir;  // the output run directory (created before the method runs)
  UnlearnOptions opt;
  PhaseTimer* timer = nullptr;
  nlohmann::json report = nlohmann::json::object();  // method-specific results for metrics.json
  // The frozen prefix's features, built on first use (unlearn/prefix.h) and kept across
  // --requests: the scope, and so the prefix, is the same for every request.
  std::shared_ptr<models::PrefixCache> prefix_cache;
  nlohmann::json cache_report = nlohmann::json::object();  // metrics.json "prefix_cache"
  // --resume: the epoch checkpoint the method's training loops restore from and save to
  // (run_epochs, amun's fine-tune); nullptr without --resume.
  const train::EpochCheckpoint* checkpoint = nullptr;
};

class Method {
 public:
  virtual ~Method() = default;
  virtual std::string name() const = 0;
  // Whether the method can run with only D_F (--no-retain).
  virtual bool supports_no_retain() const { return true; }
  virtual void run(UnlearnContext& ctx) = 0;
};

std::unique_ptr<Method> make_method(const std::string& name);
std::vector<std::string> method_names();

}  // namespace lethe::unlearn
