#include "kernels/emu/cublas.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace lethe::emu {

struct CublasContext {
  cudaStream_t stream = nullptr;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace {
std::mutex g_m;
std::map<CublasContext*, std::unique_ptr<CublasContext>> g_handles;
std::atomic<uint64_t> g_calls{0};

// Float32 → TF32 (1 sign, 8 exponent, 10 mantissa bits), round to nearest even; inf/NaN kept.
float round_to_tf32(float v) {
  uint32_t u = std::bit_cast<uint32_t>(v);
  if ((u & 0x7f800000u) == 0x7f800000u) return v;
  u += 0xfffu + ((u >> 13) & 1u);
  return std::bit_cast<float>(u & 0xffffe000u);
}

bool live(cublasHandle_t h) {
  std::lock_guard<std::mutex> g(g_m);
  return g_handles.count(h) != 0;
}
}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* h) {
  auto p = std::make_unique<CublasContext>();
  *h = p.get();
  std::lock_guard<std::mutex> g(g_m);
  g_handles[p.get()] = std::move(p);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasDestroy(cublasHandle_t h) {
  std::lock_guard<std::mutex> g(g_m);
  return g_handles.erase(h) ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
}
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
  if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->stream = s;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode) {
  if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  if (mode != CUBLAS_DEFAULT_MATH && mode != CUBLAS_TF32_TENSOR_OP_MATH)
    return CUBLAS_STATUS_INVALID_VALUE;
  h->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}
const char* cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const float* alpha, const float* A, int lda,
                                         long long strideA, const float* B, int ldb,
                                         long long strideB, const float* beta, float* C, int ldc,
                                         long long strideC, int batchCount) {
  if (!live(h)) return CUBLAS_STATUS_NOT_INITIALIZED;
  bool ta = transa == CUBLAS_OP_T, tb = transb == CUBLAS_OP_T;
  // cuBLAS: lda ≥ max(1, rows of A as stored), likewise ldb, ldc ≥ max(1, m).
  if (m < 0 || n < 0 || k < 0 || batchCount < 0 || lda < std::max(1, ta ? k : m) ||
      ldb < std::max(1, tb ? n : k) || ldc < std::max(1, m) || (transa != CUBLAS_OP_N && !ta) ||
      (transb != CUBLAS_OP_N && !tb))
    return CUBLAS_STATUS_INVALID_VALUE;
  ++g_calls;
  const bool tf32 = h->math == CUBLAS_TF32_TENSOR_OP_MATH;
  auto operand = [tf32](float v) { return static_cast<double>(tf32 ? round_to_tf32(v) : v); };
  double al = *alpha, be = *beta;
  for (int bt = 0; bt < batchCount; ++bt) {
    const float* a = A + bt * strideA;
    const float* b = B + bt * strideB;
    float* c = C + bt * strideC;
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        double acc = 0;
        for (int p = 0; p < k; ++p) {
          double av = operand(ta ? a[p + static_cast<long long>(i) * lda]
                                 : a[i + static_cast<long long>(p) * lda]);
          double bv = operand(tb ? b[j + static_cast<long long>(p) * ldb]
                                 : b[p + static_cast<long long>(j) * ldb]);
          acc += av * bv;
        }
        float& out = c[i + static_cast<long long>(j) * ldc];
        // beta = 0 ignores C's contents (NaN included), as cuBLAS does.
        out = static_cast<float>(be == 0 ? al * acc : al * acc + be * out);
      }
  }
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t transa, cublasOperation_t transb,
                           int m, int n, int k, const float* alpha, const float* A, int lda,
                           const float* B, int ldb, const float* beta, float* C, int ldc) {
  return cublasSgemmStridedBatched(h, transa, transb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C,
                                   ldc, 0, 1);
}

uint64_t cublas_calls() {
  return g_calls.load();
}

}  // namespace lethe::emu
