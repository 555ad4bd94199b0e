// Helpers shared by the op implementations (not part of the public API).
#pragma once
#include "engine/backend/backend.h"
#include "engine/backend/router.h"
#include "engine/core/tensor.h"

namespace lethe::ops::detail {

// The dispatch point: the backend is chosen per call from the tensors' devices (router.h).
inline Backend& be() {
  return router();
}

// Outputs live where the inputs are: the device of the first device tensor, else the host.
inline Device device_of(std::initializer_list<const Tensor*> ts) {
  return Router::device_of(ts);
}

// The data of x in contiguous layout, outside the graph (kernels read this).
inline Tensor dense(const Tensor& x) {
  if (!x.defined() || x.is_contiguous()) return x.defined() ? x.detach() : x;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  be().copy(x, out);
  return out;
}

inline Tensor like(const Tensor& x) {
  return Tensor::empty(x.shape(), x.dtype(), x.device());
}

inline void check_float(const char* op, const Tensor& x, const char* arg) {
  LETHE_CHECK(x.defined(), op, ": argument '", arg, "' is undefined");
  LETHE_CHECK(is_floating(x.dtype()), op, ": argument '", arg, "' must be a float tensor, got ",
              dtype_name(x.dtype()), " of shape ", shape_str(x.shape()));
}

inline void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  LETHE_CHECK(a.dtype() == b.dtype(), op, ": dtype mismatch ", dtype_name(a.dtype()), " ",
              shape_str(a.shape()), " vs ", dtype_name(b.dtype()), " ", shape_str(b.shape()));
}

inline int64_t norm_dim(const char* op, int64_t d, int64_t nd) {
  int64_t r = d < 0 ? d + nd : d;
  LETHE_CHECK(r >= 0 && r < nd, op, ": dimension ", d, " out of range for a ", nd, "-d tensor");
  return r;
}

}  // namespace lethe::ops::detail
