#include "engine/backend/backend.h"

#include "engine/backend/cpu/cpu.h"
#include "engine/backend/cpu_ref/cpu_ref.h"
#include "engine/backend/device.h"
#include "kernels/cpu/optim.h"

namespace lethe {
namespace {

CpuRefBackend& ref_backend() {
  static CpuRefBackend b;
  return b;
}
CpuBackend& cpu_backend() {
  static CpuBackend b;
  return b;
}
thread_local Backend* g_current = nullptr;

}  // namespace

Backend& current_backend() {
  return g_current ? *g_current : cpu_backend();
}

Backend& backend_by_name(const std::string& name) {
  if (name == "cpu_ref") return ref_backend();
  if (name == "cpu") return cpu_backend();
  if (name == "emu") return emu_device_backend();
  if (name == "cuda") return cuda_device_backend();
  LETHE_FAIL("unknown backend '", name, "' (available: cpu, cpu_ref, emu, cuda)");
}

// Every backend usable here; the harnesses compare each with cpu_ref.
std::vector<std::string> backend_names() {
  std::vector<std::string> names{"cpu_ref", "cpu", "emu"};
  if (cuda_compiled() && cuda_unavailable_reason().empty()) names.push_back("cuda");
  return names;
}

#if !defined(LETHE_HAVE_CUDA)
// A build without the CUDA toolkit: the `cuda` backend is a name that explains itself.
bool cuda_compiled() {
  return false;
}
std::string cuda_unavailable_reason() {
  return "no CUDA device is available (this build has no CUDA backend: configure with the CUDA "
         "toolkit, "
         "LETHE_CUDA=ON)";
}
Backend& cuda_device_backend() {
  LETHE_FAIL(cuda_unavailable_reason());
}
Device cuda_device() {
  LETHE_FAIL(cuda_unavailable_reason());
}
#endif

Device device_by_name(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name == "emu") return emu_device();
  if (name == "cuda") return cuda_device();
  LETHE_FAIL("--device: unknown '", name, "' (use cpu, emu or cuda)");
}

void Backend::sgd_step(Tensor& p, const Tensor& g, Tensor& buf, const SgdStep& s) {
  kernels::cpu::sgd_step(
      p.data<float>(), g.data<float>(), buf.defined() ? buf.data<float>() : nullptr, p.numel(),
      kernels::sgd_scalars(s.lr, s.momentum, s.dampening, s.weight_decay, s.nesterov, s.first));
}

void Backend::adam_step(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, Tensor& vmax,
                        const AdamStep& s) {
  kernels::cpu::adam_step(
      p.data<float>(), g.data<float>(), m.data<float>(), v.data<float>(),
      vmax.defined() ? vmax.data<float>() : nullptr, p.numel(),
      kernels::adam_scalars(s.lr, s.beta1, s.beta2, s.eps, s.weight_decay, s.decoupled, s.t));
}

BackendGuard::BackendGuard(const std::string& name) : BackendGuard(backend_by_name(name)) {}
BackendGuard::BackendGuard(Backend& b) : prev_(g_current) {
  g_current = &b;
}
BackendGuard::~BackendGuard() {
  g_current = prev_;
}

}  // namespace lethe
