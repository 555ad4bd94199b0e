// Helpers shared by the unlearning methods: optimizers over the scoped parameters and plain
// epochs over an index list (hooks for relabelling, ascent, penalties, masks in
// train::EpochOptions).
#pragma once
#include <memory>

#include "engine/optim/optimizer.h"
#include "unlearn/method.h"

namespace lethe::unlearn {

// SGD over the trainable (in-scope) parameters of ctx.model.
std::unique_ptr<optim::SGD> make_sgd(const UnlearnContext& ctx, double lr, double momentum = 0.9,
                                     double weight_decay = 5e-4);

// Epoch options from the context (batch, seed), no augmentation unless `augment`.
train::EpochOptions epoch_options(const UnlearnContext& ctx, bool augment = false);

// Runs `epochs` epochs over `indices` with the given options; lr decays by the cosine schedule
// when `cosine` (else constant). Phase time goes to ctx.timer under `phase`. Runs on the cached
// prefix features (unlearn/prefix.h) when they apply.
void run_epochs(UnlearnContext& ctx, optim::Optimizer& opt, const std::vector<int64_t>& indices,
                const train::EpochOptions& eo, int64_t epochs, double lr, bool cosine,
                const std::string& phase);

// Throws a lethe::Error when the method needs D_R and --no-retain was given.
void require_retain(const UnlearnContext& ctx, const std::string& method);

}  // namespace lethe::unlearn
