// Runs one registry op case on one backend: fresh copies of the inputs (converted to the
// requested float dtype), forward, backward with a fixed upstream gradient, and everything the
// harnesses compare (output, input gradients, inputs modified in place).
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/ops/ops.h"
#include "engine/ops/registry.h"

namespace lethe::testing {

struct OpRun {
  Tensor y;
  std::vector<Tensor> grads;    // per input; undefined where not differentiable
  std::vector<Tensor> mutated;  // per input after the forward (mutating ops only)
};

inline Tensor fresh_copy(const Tensor& t, DType float_dtype) {
  if (!t.defined()) return t;
  return is_floating(t.dtype()) ? t.to(float_dtype) : t.clone();
}

inline OpRun run_op(const ops::OpInfo& op, const ops::OpCase& c, const std::string& backend,
                    DType dtype = DType::F32, uint64_t dy_seed = 99) {
  BackendGuard guard(backend);
  std::vector<Tensor> in;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    Tensor t = fresh_copy(c.inputs[i], dtype);
    if (t.defined() && c.differentiable[i]) t.set_requires_grad(true);
    in.push_back(t);
  }
  OpRun r;
  Tensor y = op.forward(in);
  r.y = y.detach().clone();
  if (y.requires_grad()) {
    Tensor dy = Tensor::randn(y.shape(), dy_seed, y.dtype());
    y.backward(dy);
  }
  for (size_t i = 0; i < in.size(); ++i) {
    r.grads.push_back(in[i].defined() && c.differentiable[i] ? in[i].grad() : Tensor());
    r.mutated.push_back(op.mutates_inputs && in[i].defined() ? in[i].detach().clone() : Tensor());
  }
  return r;
}

// max |a - b| / max(max |b|, floor): the per-tensor relative error used everywhere.
inline double rel_error(const Tensor& a, const Tensor& b, double floor = 1e-6) {
  std::vector<double> av = a.to_vector_f64(), bv = b.to_vector_f64();
  double num = 0, den = floor;
  for (size_t i = 0; i < av.size(); ++i) {
    num = std::max(num, std::fabs(av[i] - bv[i]));
    den = std::max(den, std::fabs(bv[i]));
  }
  return num / den;
}

inline bool all_finite(const Tensor& t) {
  for (double v : t.to_vector_f64())
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace lethe::testing
