// Adversarial training (Madry et al. 2018): every training batch is replaced by its PGD (or
// FGSM) adversarial points before the step, `lethe train --adv-train pgd:eps=8/255,steps=7`.
// The attack runs with the model in eval mode (running BN statistics, no dropout) and frozen
// parameters, so the attack's forwards neither update BN statistics nor leave weight gradients;
// the step itself is an ordinary train-mode step on the adversarial batch. This is the common
// PyTorch practice; Madry's original code generated attacks in train mode.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "models/classifier.h"
#include "train/trainer.h"

namespace lethe::train {

// The hook for EpochOptions::perturb; throws a lethe::Error naming --adv-train for a bad spec or
// for min-eps (not a training attack). `image`: inputs live in [0,1] (else no clamping).
std::function<Tensor(const Tensor&, const Tensor&)> make_adversarial_perturb(
    models::Classifier& model, const data::Normalization& norm, const std::string& spec, bool image,
    uint64_t seed);

}  // namespace lethe::train
