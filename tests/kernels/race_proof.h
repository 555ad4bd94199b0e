// The race-detector proofs (tests/kernels/test_race.cpp): scripts/race_proofs.py generates, per
// __syncthreads() of kernels/cuda, a copy of the kernel file without that barrier, in a namespace
// of its own, with the file's driver (race_drive/<file>.inc) appended. A driver launches the
// file's kernels that have barriers at configurations where each barrier matters (several warps,
// several iterations of the loops the barriers close; kernels of the file's anonymous namespace
// are launched directly when the launcher would give every block one iteration), and registers
// itself here for its barrier site.
#pragma once
#include <string>
#include <vector>

#include "kernels/cuda/compat.h"

namespace lethe::race_proof {

// The launches of one driver run: each one's emulator fault, if any.
struct Runs {
  std::vector<std::string> faults;
  int launches = 0;
  template <class F>
  void operator()(const char* what, F&& launch) {
    ++launches;
    try {
      launch();
      if (::lethe::emu::cudaDeviceSynchronize() != ::lethe::emu::cudaSuccess)
        faults.push_back(std::string(what) + ": runtime error");
    } catch (const ::lethe::emu::KernelFault& e) {
      faults.push_back(std::string(what) + ": " + e.what());
    }
  }
};

struct Proof {
  const char* file;  // the barrier removed (line 0: an intact copy)
  int line;
  const char* ns;
  void (*drive)(Runs&);
};
inline std::vector<Proof>& all() {
  static std::vector<Proof> proofs;
  return proofs;
}
inline bool add(const Proof& p) {
  all().push_back(p);
  return true;
}

// n device elements, every one `value`.
template <class T>
struct Buf {
  T* p = nullptr;
  Buf(size_t n, T value) {
    void* v = nullptr;
    if (::lethe::emu::cudaMalloc(&v, (n ? n : 1) * sizeof(T)) != ::lethe::emu::cudaSuccess)
      throw std::runtime_error("race proof: cudaMalloc failed");
    p = static_cast<T*>(v);
    std::vector<T> h(n, value);
    ::lethe::emu::cudaMemcpy(p, h.data(), n * sizeof(T), ::lethe::emu::cudaMemcpyHostToDevice);
  }
  ~Buf() { ::lethe::emu::cudaFree(p); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;
};

}  // namespace lethe::race_proof

#define LETHE_RACE_STR2_(x) #x
#define LETHE_RACE_STR_(x) LETHE_RACE_STR2_(x)
// After a driver's race_drive: registers it for the copy's site.
#define LETHE_RACE_PROOF_REGISTER                                                            \
  namespace {                                                                                \
  const bool lethe_race_proof_added_ = ::lethe::race_proof::add(                             \
      {LETHE_RACE_PROOF_SITE, LETHE_RACE_STR_(LETHE_KNS), &::lethe::LETHE_KNS::race_drive}); \
  }
