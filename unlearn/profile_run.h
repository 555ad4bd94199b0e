// The `lethe profile` job: the per-layer cost (engine/profile/layer_profile.h) of plain training
// steps or of one unlearning method, under a layer scope, on a trained run (`from`) or a fresh
// model (`model`). Writes DIR/profile.json, DIR/profile.csv, DIR/profile.svg and config.json.
//
// A short, representative run: method "train" profiles `steps` training steps of `batch` images
// after `warmup` unmeasured ones (the epoch loop of train/trainer.h, rows in a fixed order); an
// unlearning method runs as `lethe unlearn` runs it (every phase: AMUN's adversarial search,
// SalUn's saliency, the fine-tune), for `epochs` on a small split: the `forget` set and `retain`
// rows of the rest (defaults: 16 and 112, so an epoch has two steps of 64), with the method's own
// defaults (the shortened ones of unlearn/options.h with `short_run`). Before measuring a method,
// one forward/backward on a batch warms the allocator cache and the thread pool; the model's
// state is restored after it.
//
// The measurement is repeated `repeats` times (a method from the same original state each time,
// a fresh method object; training continues for `steps` more steps): the tables and profile.csv
// are the repeat of median wall time, profile.json's "repeats" holds every repeat's wall time
// and, per module, the minimum, median and maximum of its forward + backward time.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "unlearn/method.h"

namespace lethe::unlearn {

struct ProfileRequest {
  std::string from;   // a trained run directory, or
  std::string model;  // a fresh model by NAME (with width, stem, data)
  std::string data, stem, method, forget = "random:16", out;
  int64_t width = 0, steps = 3, warmup = 1, retain = 112, repeats = 3;
  bool short_run = false;       // the shortened method defaults (unlearn/options.h)
  int threads = 0, depth = -1;  // depth: table rows up to this module depth (-1 = all)
  bool overwrite = false;
  // epochs, lr (-1: the method's default; 0.01 for "train"), batch, seed, layers; `extra` is
  // filled from `options`.
  UnlearnOptions opt{.epochs = 1, .batch = 64};
  std::vector<std::string> options;  // method options KEY=VALUE (unlearn/options.h)
};

struct ProfileResult {
  nlohmann::json profile;  // profile.json's content
  std::string summary;     // the table and phase times, for stdout
};

ProfileResult run_profile(const ProfileRequest& req);

}  // namespace lethe::unlearn
