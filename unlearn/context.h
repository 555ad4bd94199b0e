// The run an unlearning method starts from, and the context it runs in: built in one place for
// lethe unlearn (unlearn/run.h) and lethe profile (unlearn/profile_run.h).
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "data/dataset.h"
#include "unlearn/method.h"

namespace lethe::unlearn {

// A trained model with its data: a run directory's, or a fresh one (lethe profile --model).
struct OriginalRun {
  std::string dir;        // "" for a fresh model
  nlohmann::json config;  // the run's config.json (its training recipe)
  std::shared_ptr<models::Classifier> model;
  models::ModelConfig model_config;
  data::Normalization norm;
  data::DataSplit data;  // the run's training rows (its --subset) and test set
};

// Loads run directory `dir`: config.json, model.safetensors, the normalization, and the data the
// run trained on (its data spec, seed and --subset rows). A non-empty `data_spec` replaces the
// run's data (then the whole training set of that spec).
OriginalRun load_original_run(const std::string& dir, const std::string& data_spec = "");

// The context a method runs in on `original` (which must outlive it): its model, data,
// normalization and recipe, the options, the output directory and the phase timer. The
// forget/retain split is left to the caller.
UnlearnContext make_context(const OriginalRun& original, const UnlearnOptions& opt,
                            const std::string& out_dir, PhaseTimer* timer);

}  // namespace lethe::unlearn
