// The fake cuBLAS of emu builds: the column-major cublasSgemm / cublasSgemmStridedBatched
// contract (argument checks included) computed on the CPU in double, so the cuBLAS call sites of
// engine/backend/cuda run in the tests. It checks leading dimensions as cuBLAS documents them and
// returns CUBLAS_STATUS_INVALID_VALUE where cuBLAS would.
#pragma once
#include <cstdint>

#include "kernels/emu/emu.h"

namespace lethe::emu {

enum cublasStatus_t : int {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_INVALID_VALUE = 7,
};
enum cublasOperation_t : int { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };
// CUBLAS_TF32_TENSOR_OP_MATH rounds A and B to TF32 (10-bit mantissa, round to nearest even)
// before the products, as tensor cores do; CUBLAS_DEFAULT_MATH keeps float32 operands.
enum cublasMath_t : int { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3 };
struct CublasContext;
using cublasHandle_t = CublasContext*;

cublasStatus_t cublasCreate(cublasHandle_t* h);
cublasStatus_t cublasDestroy(cublasHandle_t h);
cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s);
cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t mode);
const char* cublasGetStatusString(cublasStatus_t s);
// C = alpha·op(A)·op(B) + beta·C, column-major; op(A) m×k, op(B) k×n, C m×n.
cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t transa, cublasOperation_t transb,
                           int m, int n, int k, const float* alpha, const float* A, int lda,
                           const float* B, int ldb, const float* beta, float* C, int ldc);
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const float* alpha, const float* A, int lda,
                                         long long strideA, const float* B, int ldb,
                                         long long strideB, const float* beta, float* C, int ldc,
                                         long long strideC, int batchCount);
uint64_t cublas_calls();  // sgemm + batched calls so far (tests check the fast path ran)

}  // namespace lethe::emu
