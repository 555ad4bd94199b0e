// cuBLAS, opened on first use. Linking libcublas (and the ~500 MB libcublasLt it pulls in) would
// add a tenth of a second to every start of every lethe process on machines that will never call
// it; so this file defines the few cuBLAS entry points the backend calls and forwards each, on
// first use, to the library found by dlopen. Without the library every call returns
// CUBLAS_STATUS_NOT_INITIALIZED, which the call sites report in one line.
#include <cublas_v2.h>
#include <dlfcn.h>

#include <mutex>

namespace {

void* library() {
  static std::once_flag once;
  static void* lib = nullptr;
  std::call_once(once, [] {
    for (const char* name : {"libcublas.so.13", "libcublas.so"})
      if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL))) break;
  });
  return lib;
}

template <class Fn>
Fn symbol(const char* name) {
  void* lib = library();
  return lib ? reinterpret_cast<Fn>(dlsym(lib, name)) : nullptr;
}

}  // namespace

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  static auto fn = symbol<decltype(&cublasCreate_v2)>("cublasCreate_v2");
  return fn ? fn(handle) : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  static auto fn = symbol<decltype(&cublasDestroy_v2)>("cublasDestroy_v2");
  return fn ? fn(handle) : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream) {
  static auto fn = symbol<decltype(&cublasSetStream_v2)>("cublasSetStream_v2");
  return fn ? fn(handle, stream) : CUBLAS_STATUS_NOT_INITIALIZED;
}

const char* cublasGetStatusString(cublasStatus_t status) {
  static auto fn = symbol<decltype(&cublasGetStatusString)>("cublasGetStatusString");
  return fn ? fn(status) : "cuBLAS library not found (libcublas.so.13)";
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  static auto fn = symbol<decltype(&cublasSetMathMode)>("cublasSetMathMode");
  return fn ? fn(handle, mode) : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int m, int n, int k, const float* alpha,
                              const float* A, int lda, const float* B, int ldb, const float* beta,
                              float* C, int ldc) {
  static auto fn = symbol<decltype(&cublasSgemm_v2)>("cublasSgemm_v2");
  return fn ? fn(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc)
            : CUBLAS_STATUS_NOT_INITIALIZED;
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const float* alpha, const float* A, int lda,
                                         long long int strideA, const float* B, int ldb,
                                         long long int strideB, const float* beta, float* C,
                                         int ldc, long long int strideC, int batchCount) {
  static auto fn = symbol<decltype(&cublasSgemmStridedBatched)>("cublasSgemmStridedBatched");
  return fn ? fn(handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta, C,
                 ldc, strideC, batchCount)
            : CUBLAS_STATUS_NOT_INITIALIZED;
}

}  // extern "C"
