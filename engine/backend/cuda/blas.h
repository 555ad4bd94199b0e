// The vendor BLAS of the CUDA backend: real cuBLAS in CUDA builds, the emulator's fake cuBLAS
// (kernels/emu/cublas.h, namespace lethe::emu, seen from lethe::kemu through compat.h's
// using-directive) in emu builds. Same call sites in both.
#pragma once
#include "kernels/cuda/compat.h"
#if defined(LETHE_CUDA_HOST)
#include <cublas_v2.h>
#else
#include "kernels/emu/cublas.h"
#endif
#include "engine/core/error.h"

namespace lethe::LETHE_KNS {

// One handle per process, created on first use and bound to backend_stream(); never destroyed
// (it lives as long as the CUDA context it belongs to).
cublasHandle_t blas_handle();

}  // namespace lethe::LETHE_KNS

// Throws lethe::Error naming the call and the cuBLAS status.
#define LETHE_CUBLAS_CHECK(expr)                                                                  \
  do {                                                                                            \
    cublasStatus_t lethe_st_ = (expr);                                                            \
    if (lethe_st_ != CUBLAS_STATUS_SUCCESS)                                                       \
      LETHE_FAIL(LETHE_DEVICE_NAME, " backend: ", #expr, ": ", cublasGetStatusString(lethe_st_)); \
  } while (0)
