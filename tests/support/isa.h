// Runs a numeric check once per CPU ISA path (scalar, AVX2, AVX-512) this host can take, forcing
// the CPU kernels' choice (kernels/cpu/gemm.h), then restores it. Results can differ by path
// (GEMM micro-kernels, vmath, Winograd and conv built on them), so every path present is tested
// against the same reference; a path the CPU lacks (or LETHE_ISA excludes) is named as skipped in
// the test output, never silently absent.
#pragma once
#include <doctest/doctest.h>

#include <cstdio>
#include <set>
#include <string>

#include "engine/backend/backend.h"
#include "kernels/cpu/gemm.h"

namespace lethe::testing {

inline const char* const kAllIsas[] = {"scalar", "avx2", "avx512"};

// Restores the ISA path on scope exit (a failed REQUIRE throws out of the loop).
struct IsaRestore {
  kernels::cpu::GemmIsa saved = kernels::cpu::gemm_isa();
  ~IsaRestore() { kernels::cpu::set_gemm_isa(saved); }
};

// How many paths for_each_isa runs here.
inline int isa_paths() {
  using kernels::cpu::GemmIsa;
  int n = 0;
  for (GemmIsa isa : {GemmIsa::Scalar, GemmIsa::Avx2, GemmIsa::Avx512})
    n += kernels::cpu::gemm_isa_supported(isa);
  return n;
}

template <class F>
void for_each_isa(F f) {
  using kernels::cpu::GemmIsa;
  IsaRestore restore;
  for (GemmIsa isa : {GemmIsa::Scalar, GemmIsa::Avx2, GemmIsa::Avx512}) {
    const char* name = kernels::cpu::gemm_isa_name(isa);
    if (!kernels::cpu::gemm_isa_supported(isa)) {
      // Once per process and path, so a log shows it without repeating it per test.
      static std::set<std::string> said;
      if (said.insert(name).second)
        std::printf("ISA path %s: SKIPPED (this CPU lacks it or LETHE_ISA excludes it)\n", name);
      continue;
    }
    const std::string isa_path = name;  // CAPTURE of a const char* would print the pointer
    CAPTURE(isa_path);
    kernels::cpu::set_gemm_isa(isa);
    f(name);
  }
}

// Every backend to compare with a float64 reference: cpu once per ISA path, then every other
// backend present (cpu_ref in float32, emu, cuda when a device answers). f(backend, label).
template <class F>
void for_each_backend(F f) {
  for (const std::string& be : backend_names()) {
    if (be == "cpu")
      for_each_isa([&](const char* isa) { f(be, "cpu/" + std::string(isa)); });
    else
      f(be, be == "cpu_ref" ? std::string("cpu_ref f32") : be);
  }
}

}  // namespace lethe::testing
