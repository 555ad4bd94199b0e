// Single-precision GEMM on the device (kernels/cuda/gemm.cu): row-major, batched, strided.
//   C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b]      for b < batch
// op(A) is M×K (A stored [M,K] with leading dimension lda, or [K,M] if ta), op(B) is K×N (B
// stored [K,N] with ldb, or [N,K] if tb), C is [M,N] with ldc. Batch strides are in elements;
// stride 0 broadcasts one matrix over the batch. beta == 0 never reads C (it may hold NaN).
#pragma once
#include <cstdint>

#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

// Tile configurations: BM×BN output tile per block, TM×TN micro-tile per thread.
enum class GemmConfig : int {
  Auto = -1,         // chosen from the shape by gemm_auto_config
  Tile64x64 = 0,     // 64×64×16, 256 threads, 4×4 per thread (the general default)
  Tile32x32 = 1,     // 32×32×8, 64 threads, 4×4 per thread (small matrices, many blocks)
  Tile128x128 = 2,   // 128×128×8, 256 threads, 8×8 per thread (large matrices)
  Tile128T1024 = 3,  // 128×128×8, 1024 threads, 4×4 per thread
  Skinny16x64 = 4,   // 16×64×16, 256 threads, 1×4 per thread (few rows: M ≤ 16, e.g. a linear
                     // layer at batch size 1..16 or a conv with few output channels)
};
inline constexpr int kGemmConfigCount = 5;
inline constexpr GemmConfig kGemmConfigs[kGemmConfigCount] = {
    GemmConfig::Tile64x64, GemmConfig::Tile32x32, GemmConfig::Tile128x128, GemmConfig::Tile128T1024,
    GemmConfig::Skinny16x64};
const char* gemm_config_name(GemmConfig c);
int gemm_config_threads(GemmConfig c);
// A configuration for the shape: skinny for M ≤ 16, large tiles when they still give enough
// blocks to fill a GPU, 32×32 when even 64×64 tiles would leave most SMs idle.
GemmConfig gemm_auto_config(int64_t M, int64_t N, int64_t batch);

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float beta,
          float* C, int64_t ldc, int64_t stride_c, int64_t batch, cudaStream_t stream,
          GemmConfig config = GemmConfig::Auto);

}  // namespace lethe::LETHE_KNS
