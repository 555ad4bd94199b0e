// OpenBLAS for comparison only: loaded at run time with dlopen, so the engine never links it.
// Where the CPU has AVX-512F, OPENBLAS_CORETYPE=SkylakeX is set for this process before loading, to
// get its AVX-512 kernel; elsewhere OpenBLAS chooses (forcing SkylakeX on a CPU without AVX-512
// dies of SIGILL in sgemm_kernel_SKYLAKEX). A user's own OPENBLAS_CORETYPE is left alone.
#pragma once
#include <dlfcn.h>

#include <cstdlib>
#include <string>

namespace lethe::bench {

// The CBLAS ABI of the LP64 OpenBLAS build: enums and blasint are plain ints.
using CblasSgemmFn = void (*)(int order, int trans_a, int trans_b, int M, int N, int K, float alpha,
                              const float* A, int lda, const float* B, int ldb, float beta,
                              float* C, int ldc);
using SetThreadsFn = void (*)(int);
constexpr int kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112;

struct OpenBlas {
  CblasSgemmFn sgemm = nullptr;
  SetThreadsFn set_threads = nullptr;
  std::string status;
};

inline OpenBlas load_openblas() {
  OpenBlas ob;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
  void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    ob.status = std::string("not available (") + dlerror() + ")";
    return ob;
  }
  ob.sgemm = reinterpret_cast<CblasSgemmFn>(dlsym(h, "cblas_sgemm"));
  ob.set_threads = reinterpret_cast<SetThreadsFn>(dlsym(h, "openblas_set_num_threads"));
  if (!ob.sgemm) {
    ob.status = "libopenblas.so.0 has no cblas_sgemm";
    return ob;
  }
  using ConfigFn = char* (*)();
  auto config = reinterpret_cast<ConfigFn>(dlsym(h, "openblas_get_config"));
  auto corename = reinterpret_cast<ConfigFn>(dlsym(h, "openblas_get_corename"));
  ob.status =
      std::string(config ? config() : "OpenBLAS") + " core=" + (corename ? corename() : "?");
  return ob;
}

}  // namespace lethe::bench
