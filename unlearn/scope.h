// Layer SCOPEs: which parameters an unlearning method may change. Parameters outside the scope
// get requires_grad = false, so autograd records no nodes for a frozen prefix of the network and
// backward stops where no parameter needs a gradient: the saving is real, not masked. Modules
// outside the scope are pinned to eval mode (nn::Module::pin_eval): a frozen BatchNorm normalizes
// with its running statistics and never updates them, in every method; in-scope BatchNorm layers
// update as in training. So parameters AND buffers outside the scope stay bit-identical.
//   all        every parameter
//   head       the classification head (fc / head)
//   last:K     the last K blocks (ResNet layerL.i, ViT blocks.i, MLP layers.i) and all after them
//   P1,P2,...  parameters whose dotted name starts with one of the module prefixes
#pragma once
#include <string>
#include <vector>

#include "models/classifier.h"

namespace lethe::unlearn {

// Freezes the model outside `scope`; returns the names of the trainable parameters (throws a
// lethe::Error naming --layers when the scope selects nothing or does not parse).
std::vector<std::string> apply_scope(models::Classifier& model, const std::string& scope);

// Pins to eval mode every module outside the trainable parameters (apply_scope calls it): those
// holding only frozen parameters, and parameterless ones before the first trainable module.
void pin_frozen_modules(models::Classifier& model);

// Undoes apply_scope: every parameter trainable, no module pinned.
void clear_scope(models::Classifier& model);

// The trainable parameters after apply_scope.
std::vector<Tensor> trainable_parameters(const models::Classifier& model);

// The block module paths of a model, in forward order (layer1.0, ..., blocks.5, ...).
std::vector<std::string> block_paths(models::Classifier& model);

}  // namespace lethe::unlearn
