// The op table: every differentiable op of engine/ops with the cases it is exercised on
// (awkward shapes: sizes that are not multiples of 4/16/32, size-1 dimensions, broadcasting).
// The backend harness (tests/ops), the gradient checker (tests/grad) and the op benchmark
// (bench/bench_ops) all iterate this one table, so a new op is covered everywhere by adding
// one entry here.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "engine/core/tensor.h"

namespace lethe::ops {

struct OpCase {
  std::string label;                 // shapes and arguments, for reports
  std::vector<Tensor> inputs;        // f32 (or i64 targets); cloned per run by the harness
  std::vector<bool> differentiable;  // per input: gradient checked/compared
};

struct OpInfo {
  std::string name;
  std::function<std::vector<OpCase>()> cases;
  std::function<Tensor(const std::vector<Tensor>&)> forward;
  // Ops whose inputs are modified in place (batch-norm running statistics): the harness also
  // compares those inputs after the forward.
  bool mutates_inputs = false;
  // Piecewise ops (relu, abs, clamp, max, pooling): the gradient checker skips elements where
  // the one-sided differences disagree (a kink within the step), as Caffe's checker does.
  bool has_kinks = false;
};

const std::vector<OpInfo>& op_registry();
const OpInfo& find_op(const std::string& name);

}  // namespace lethe::ops
