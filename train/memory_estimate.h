// Refusing a batch that cannot fit, before the run allocates it (issue 20, item 5).
// The estimate of one training step's memory comes from measurement, not a formula: a probe copy
// of the model takes a forward and backward pass on batches of 2 and 4 zero samples, and the
// allocator's peak over each gives the bytes that do not grow with the batch (gradients, the
// pass's fixed workspace) and those that do (activations, saved tensors, per sample). Parameters,
// optimizer state (slots × parameters) and the loader's two batches in flight are added by count.
// Not counted: buffers kernels take outside the allocator (im2col scratch, thread-local packing),
// a method's second model (SCRUB's teacher, BS's frozen copy), evaluation after training.
// The probe draws nothing from the default generator (its state is restored) and leaves no cached
// blocks behind, so a run with the check is bit-identical to one without.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/dataset.h"
#include "models/registry.h"

namespace lethe::train {

struct MemoryEstimate {
  size_t fixed_bytes = 0;       // parameters, their gradients, optimizer state, fixed workspace
  size_t per_sample_bytes = 0;  // activations kept for backward and the batch itself
  int64_t batch = 0;            // the batch the estimate is for (rows per step on this process)
  size_t total() const { return fixed_bytes + per_sample_bytes * static_cast<size_t>(batch); }
};

// One training step of `mc` on samples shaped like `d`'s at `batch` rows, with an optimizer that
// keeps `optimizer_slots` tensors per parameter (SGD with momentum 1, AdamW 2). CPU only.
MemoryEstimate estimate_step_memory(const models::ModelConfig& mc, const data::Dataset& d,
                                    int64_t batch, int optimizer_slots);

// The bytes the check compares with: `max_memory` when > 0, else the kernel's MemAvailable
// (0 when it cannot be read: no check). `source` says which.
size_t memory_limit(size_t max_memory, std::string* source);

// Throws one line naming the option, the estimate and its parts, and the limit when the estimate
// exceeds the limit. `who` names the command ("train", "unlearn ft").
void check_step_memory(const MemoryEstimate& e, size_t max_memory, const std::string& who);

// "512M", "4G", "1.5GiB", "2000000" (bytes) -> bytes; throws naming --max-memory.
size_t parse_memory_size(const std::string& text);

}  // namespace lethe::train
