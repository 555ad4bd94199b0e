// Reference models for the LiRA/RMIA membership-inference attacks (eval/mia/lira.h, rmia.h):
// `lethe train --reference-models M --out DIR` trains M models with the run's recipe (model,
// data, --subset, epochs, lr, augmentation, ...), each on a random half of the data pool — the
// run's training rows followed by its test rows — and writes the layout of
// eval/mia/reference_set.h: config.json, inclusion.safetensors, logits.safetensors (every
// model's eval-mode logits on every pool sample), ref_K/model.safetensors, log.jsonl and
// metrics.json (each model's accuracy on its IN and OUT halves).
// Choices:
// - Halves are LiRA's balanced scheme: for each pool sample a seeded permutation of the M models
//   puts it IN for the first M/2 (M odd: ⌊M/2⌋ or ⌈M/2⌉ by a seeded coin), so every sample has
//   exactly M/2 IN and M/2 OUT models and each model trains on about half the pool.
// - Model k is initialized, shuffled and augmented with its own seed (derived from --seed and
//   k); the halves use a third stream of --seed. The pool itself is what --data/--subset/--seed
//   give a normal run, so a target trained with the same options attacks against these models.
// - Inputs are normalized with the training rows' statistics, as the target run's model is:
//   the reference models see the same preprocessing as the target.
// - Resume: a model whose ref_K/logits.safetensors exists is not trained again when DIR's
//   config.json holds the same recipe (an interrupted job continues); a model interrupted
//   mid-training continues from its last epoch checkpoint (ref_K/resume.safetensors, always
//   written: train/epoch_checkpoint.h), bit-identical to an uninterrupted job; SIGINT/SIGTERM
//   stop between steps. A finished DIR (with metrics.json) needs --overwrite.
// - Several ranks (`mpirun -np N`): model k is trained by rank k mod N alone (static, so a
//   restart gives each rank the same units), bit-identical to the one-rank result at equal
//   --threads; ref_K/unit.json records the rank and wall time; rank 0 gathers the units from
//   DIR (which every rank must see: one machine, or a shared filesystem) once all are done.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

#include "train/train_run.h"

namespace lethe::train {

// inclusion [M, P] (1 = IN), balanced as described above, a function of (models, pool, seed).
std::vector<uint8_t> balanced_inclusion(int64_t models, int64_t pool, uint64_t seed);

// The seed reference model k uses for init, shuffles and augmentation.
uint64_t reference_model_seed(uint64_t seed, int64_t k);

// The whole job; returns metrics.json's content. Progress on stderr.
nlohmann::json run_reference_training(const TrainConfig& cfg, int64_t models);

}  // namespace lethe::train
