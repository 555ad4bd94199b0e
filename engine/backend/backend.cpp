#include "engine/backend/backend.h"

#include "engine/backend/cpu/cpu.h"
#include "engine/backend/cpu_ref/cpu_ref.h"

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
  LETHE_FAIL("unknown backend '", name, "' (available: cpu, cpu_ref)");
}

std::vector<std::string> backend_names() {
  return {"cpu_ref", "cpu"};
}

BackendGuard::BackendGuard(const std::string& name) : BackendGuard(backend_by_name(name)) {}
BackendGuard::BackendGuard(Backend& b) : prev_(g_current) {
  g_current = &b;
}
BackendGuard::~BackendGuard() {
  g_current = prev_;
}

}  // namespace lethe
