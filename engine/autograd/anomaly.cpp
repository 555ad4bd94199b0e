#include "engine/autograd/anomaly.h"

#include <cmath>

#include "engine/core/error.h"

namespace lethe {
namespace {
thread_local bool g_on = false;
thread_local ScopeNamer g_namer;

template <typename T>
const char* scan(const T* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return std::isnan(p[i]) ? "NaN" : "Inf";
  return nullptr;
}

std::string where(const void* scope) {
  std::string name = g_namer && scope ? g_namer(scope) : "";
  return name.empty() ? std::string(" (outside any module)") : " in module " + name;
}
}  // namespace

const char* nonfinite(const Tensor& t) {
  if (!t.defined() || !is_floating(t.dtype()) || t.numel() == 0) return nullptr;
  if (t.is_cpu() && t.is_contiguous()) {
    if (t.dtype() == DType::F32) return scan(t.data<float>(), t.numel());
    return scan(t.data<double>(), t.numel());
  }
  std::vector<double> v = t.to_vector_f64();  // a device or strided tensor: read it back
  return scan(v.data(), static_cast<int64_t>(v.size()));
}

AnomalyMode::AnomalyMode(ScopeNamer namer) : prev_on_(g_on), prev_namer_(std::move(g_namer)) {
  g_on = true;
  g_namer = std::move(namer);
}
AnomalyMode::~AnomalyMode() {
  g_on = prev_on_;
  g_namer = std::move(prev_namer_);
}

bool anomaly_mode() {
  return g_on;
}

void anomaly_check_forward(const char* op, const Tensor& out, const std::vector<Tensor>& inputs,
                           const void* scope) {
  if (!g_on) return;
  const char* bad = nonfinite(out);
  if (!bad) return;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (const char* in_bad = nonfinite(inputs[i]))
      LETHE_FAIL("detect-anomaly: input ", i, " of op ", op, where(scope), " is already ", in_bad,
                 " (shape ", shape_str(inputs[i].shape()),
                 "; no op produced it: the data or a parameter)");
  LETHE_FAIL("detect-anomaly: op ", op, where(scope), " produced ", bad,
             " from finite inputs (output shape ", shape_str(out.shape()), ")");
}

void anomaly_check_backward(const char* op, const std::vector<Tensor>& grads_in,
                            const Tensor& grad_out, const void* scope) {
  if (!g_on) return;
  for (size_t i = 0; i < grads_in.size(); ++i) {
    const char* bad = nonfinite(grads_in[i]);
    if (!bad) continue;
    if (const char* g_bad = nonfinite(grad_out))
      LETHE_FAIL("detect-anomaly: backward of op ", op, where(scope), " received a ", g_bad,
                 " gradient");
    LETHE_FAIL("detect-anomaly: backward of op ", op, where(scope), " produced ", bad,
               " in the gradient of input ", i, " from a finite output gradient");
  }
}

}  // namespace lethe
