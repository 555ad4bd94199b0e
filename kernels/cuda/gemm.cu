// Tiled SGEMM: C[b] = alpha·op(A[b])·op(B[b]) + beta·C[b], row-major, batched over blockIdx.z.
// Each block owns a BM×BN tile of C and walks K in steps of BK: the block's threads load the
// BM×BK slice of op(A) and the BK×BN slice of op(B) cooperatively (coalesced along whichever
// dimension is contiguous in memory for the given transpose) into shared tiles stored k-major
// (As[k][m], Bs[k][n], rows padded by 4 floats against bank conflicts), then every thread
// accumulates a TM×TN micro-tile in registers from TM+TN shared reads per k. Micro-tile rows and
// columns are strided by BM/TM and BN/TN, so a warp reads consecutive shared words (conflict
// free) and stores consecutive columns of C (coalesced). The next K slice is fetched from global
// memory into registers while the current one is multiplied (register prefetch), with the usual
// two barriers per K step. Out-of-range elements load as 0 and are never stored, so M, N, K need
// not be multiples of the tile. Launch: grid (ceil(N/BN), ceil(M/BM), min(batch, 65535)),
// block (BN/TN)·(BM/TM) threads, static shared memory only.
#include "kernels/cuda/gemm.cuh"

#include <stdexcept>
#include <string>

// Full unrolling of the fixed-size register loops (nvcc; g++ unrolls them itself at -O2/-O3).
#if defined(__CUDACC__)
#define GEMM_UNROLL _Pragma("unroll")
#else
#define GEMM_UNROLL
#endif

namespace lethe::LETHE_KNS {
namespace {

template <int BM, int BN, int BK, int TM, int TN, bool TA, bool TB>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    sgemm_tiled(int M, int N, int K, float alpha, const float* A, int64_t lda, int64_t stride_a,
                const float* B, int64_t ldb, int64_t stride_b, float beta, float* C, int64_t ldc,
                int64_t stride_c, int batch) {
  constexpr int TX = BN / TN, TY = BM / TM, NT = TX * TY;
  constexpr int LA = BM * BK / NT;  // elements of the A slice each thread loads
  constexpr int LB = BK * BN / NT;
  constexpr int PAD = 4;
  static_assert(BM % TM == 0 && BN % TN == 0, "micro-tile must divide the tile");
  static_assert(LA * NT == BM * BK && LB * NT == BK * BN, "slices must split evenly");
  static_assert(NT % BK == 0 && NT % BM == 0 && NT % BN == 0, "load rows must split evenly");
  LETHE_SHARED(float, As, [BK][BM + PAD]);
  LETHE_SHARED(float, Bs, [BK][BN + PAD]);

  const int tid = static_cast<int>(threadIdx.x);
  const int tx = tid % TX, ty = tid / TX;
  const int m0 = static_cast<int>(blockIdx.y) * BM;
  const int n0 = static_cast<int>(blockIdx.x) * BN;
  // Where this thread's load elements sit in the slices: the contiguous dimension of the stored
  // matrix is fastest across threads (k for A, m for Aᵀ, n for B, k for Bᵀ), and element l of a
  // thread is NT/width rows further on.
  const int a_c = TA ? tid % BM : tid % BK;  // m if TA else k
  const int a_r = TA ? tid / BM : tid / BK;  // k if TA else m (plus l · a_step)
  constexpr int a_step = TA ? NT / BM : NT / BK;
  const int b_c = TB ? tid % BK : tid % BN;  // k if TB else n
  const int b_r = TB ? tid / BK : tid / BN;  // n if TB else k (plus l · b_step)
  constexpr int b_step = TB ? NT / BK : NT / BN;

  for (int b = static_cast<int>(blockIdx.z); b < batch; b += static_cast<int>(gridDim.z)) {
    const float* Ab = A + b * stride_a;
    const float* Bb = B + b * stride_b;
    float* Cb = C + b * stride_c;

    float ra[LA], rb[LB];
    auto fetch = [&](int k0) {
      GEMM_UNROLL
      for (int l = 0; l < LA; ++l) {
        int r = a_r + l * a_step;
        int m = m0 + (TA ? a_c : r), k = k0 + (TA ? r : a_c);
        ra[l] = (m < M && k < K) ? Ab[TA ? k * lda + m : m * lda + k] : 0.f;
      }
      GEMM_UNROLL
      for (int l = 0; l < LB; ++l) {
        int r = b_r + l * b_step;
        int n = n0 + (TB ? r : b_c), k = k0 + (TB ? b_c : r);
        rb[l] = (n < N && k < K) ? Bb[TB ? n * ldb + k : k * ldb + n] : 0.f;
      }
    };

    float acc[TM][TN];
    GEMM_UNROLL
    for (int i = 0; i < TM; ++i) GEMM_UNROLL
    for (int j = 0; j < TN; ++j) acc[i][j] = 0.f;

    fetch(0);
    for (int k0 = 0; k0 < K; k0 += BK) {
      GEMM_UNROLL
      for (int l = 0; l < LA; ++l) {
        int r = a_r + l * a_step;
        As[TA ? r : a_c][TA ? a_c : r] = ra[l];
      }
      GEMM_UNROLL
      for (int l = 0; l < LB; ++l) {
        int r = b_r + l * b_step;
        Bs[TB ? b_c : r][TB ? r : b_c] = rb[l];
      }
      __syncthreads();  // proof:barrier (tests/kernels/test_proof_barrier.cpp builds a copy without
                        // it)
      if (k0 + BK < K) fetch(k0 + BK);  // in flight while this slice is multiplied
      GEMM_UNROLL
      for (int kk = 0; kk < BK; ++kk) {
        float av[TM], bv[TN];
        GEMM_UNROLL
        for (int i = 0; i < TM; ++i) av[i] = As[kk][ty + i * TY];
        GEMM_UNROLL
        for (int j = 0; j < TN; ++j) bv[j] = Bs[kk][tx + j * TX];
        GEMM_UNROLL
        for (int i = 0; i < TM; ++i) GEMM_UNROLL
        for (int j = 0; j < TN; ++j) acc[i][j] += av[i] * bv[j];
      }
      __syncthreads();
    }

    GEMM_UNROLL
    for (int i = 0; i < TM; ++i) {
      int m = m0 + ty + i * TY;
      if (m >= M) continue;
      float* Cr = Cb + m * ldc;
      GEMM_UNROLL
      for (int j = 0; j < TN; ++j) {
        int n = n0 + tx + j * TX;
        if (n >= N) continue;
        Cr[n] = beta == 0.f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * Cr[n];
      }
    }
  }
}

template <int BM, int BN, int BK, int TM, int TN>
void launch_tiled(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int64_t lda,
                  int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float beta,
                  float* C, int64_t ldc, int64_t stride_c, int batch, cudaStream_t stream) {
  constexpr int NT = (BM / TM) * (BN / TN);
  int gx = LETHE_CEIL_DIV(N, BN), gy = LETHE_CEIL_DIV(M, BM);
  if (gy > 65535)
    throw std::invalid_argument("gemm: " + std::to_string(M) + " rows exceed the grid limit");
  int gz = batch < 65535 ? batch : 65535;
  dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy), static_cast<unsigned>(gz));
  if (!ta && !tb) {
    auto k = sgemm_tiled<BM, BN, BK, TM, TN, false, false>;
    LETHE_LAUNCH(k, grid, NT, 0, stream, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta,
                 C, ldc, stride_c, batch);
  } else if (!ta && tb) {
    auto k = sgemm_tiled<BM, BN, BK, TM, TN, false, true>;
    LETHE_LAUNCH(k, grid, NT, 0, stream, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta,
                 C, ldc, stride_c, batch);
  } else if (ta && !tb) {
    auto k = sgemm_tiled<BM, BN, BK, TM, TN, true, false>;
    LETHE_LAUNCH(k, grid, NT, 0, stream, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta,
                 C, ldc, stride_c, batch);
  } else {
    auto k = sgemm_tiled<BM, BN, BK, TM, TN, true, true>;
    LETHE_LAUNCH(k, grid, NT, 0, stream, M, N, K, alpha, A, lda, stride_a, B, ldb, stride_b, beta,
                 C, ldc, stride_c, batch);
  }
}

}  // namespace

const char* gemm_config_name(GemmConfig c) {
  switch (c) {
    case GemmConfig::Auto:
      return "auto";
    case GemmConfig::Tile64x64:
      return "64x64x16/256t/4x4";
    case GemmConfig::Tile32x32:
      return "32x32x8/64t/4x4";
    case GemmConfig::Tile128x128:
      return "128x128x8/256t/8x8";
    case GemmConfig::Tile128T1024:
      return "128x128x8/1024t/4x4";
    case GemmConfig::Skinny16x64:
      return "16x64x16/256t/1x4";
  }
  return "?";
}

int gemm_config_threads(GemmConfig c) {
  switch (c) {
    case GemmConfig::Tile32x32:
      return 64;
    case GemmConfig::Tile128T1024:
      return 1024;
    default:
      return 256;
  }
}

GemmConfig gemm_auto_config(int64_t M, int64_t N, int64_t batch) {
  auto blocks = [&](int64_t bm, int64_t bn) {
    return LETHE_CEIL_DIV(M, bm) * LETHE_CEIL_DIV(N, bn) * batch;
  };
  if (M <= 16) return GemmConfig::Skinny16x64;
  constexpr int64_t kFill = 216;  // about two blocks per SM of an A100 / H100
  if (blocks(128, 128) >= kFill) return GemmConfig::Tile128x128;
  if (blocks(64, 64) >= kFill / 2) return GemmConfig::Tile64x64;
  return GemmConfig::Tile32x32;
}

void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          int64_t lda, int64_t stride_a, const float* B, int64_t ldb, int64_t stride_b, float beta,
          float* C, int64_t ldc, int64_t stride_c, int64_t batch, cudaStream_t stream,
          GemmConfig config) {
  if (M < 0 || N < 0 || K < 0 || batch < 0) throw std::invalid_argument("gemm: negative size");
  auto at_least = [](int64_t ld, int64_t cols) { return ld >= cols; };
  if (!at_least(lda, ta ? M : K) || !at_least(ldb, tb ? K : N) || !at_least(ldc, N))
    throw std::invalid_argument("gemm: leading dimension smaller than the row length (lda " +
                                std::to_string(lda) + ", ldb " + std::to_string(ldb) + ", ldc " +
                                std::to_string(ldc) + ")");
  if (M == 0 || N == 0 || batch == 0) return;
  constexpr int64_t kIntMax = 0x7fffffff - 256;  // tile offsets stay in int
  if (M > kIntMax || N > kIntMax || K > kIntMax || batch > kIntMax)
    throw std::invalid_argument("gemm: a dimension exceeds 2^31 - 257");
  const int m = static_cast<int>(M), n = static_cast<int>(N), k = static_cast<int>(K),
            nb = static_cast<int>(batch);
  if (config == GemmConfig::Auto) config = gemm_auto_config(M, N, batch);
  switch (config) {
    case GemmConfig::Tile32x32:
      launch_tiled<32, 32, 8, 4, 4>(ta, tb, m, n, k, alpha, A, lda, stride_a, B, ldb, stride_b,
                                    beta, C, ldc, stride_c, nb, stream);
      return;
    case GemmConfig::Tile128x128:
      launch_tiled<128, 128, 8, 8, 8>(ta, tb, m, n, k, alpha, A, lda, stride_a, B, ldb, stride_b,
                                      beta, C, ldc, stride_c, nb, stream);
      return;
    case GemmConfig::Tile128T1024:
      launch_tiled<128, 128, 8, 4, 4>(ta, tb, m, n, k, alpha, A, lda, stride_a, B, ldb, stride_b,
                                      beta, C, ldc, stride_c, nb, stream);
      return;
    case GemmConfig::Skinny16x64:
      launch_tiled<16, 64, 16, 1, 4>(ta, tb, m, n, k, alpha, A, lda, stride_a, B, ldb, stride_b,
                                     beta, C, ldc, stride_c, nb, stream);
      return;
    case GemmConfig::Tile64x64:
    case GemmConfig::Auto:
      launch_tiled<64, 64, 16, 4, 4>(ta, tb, m, n, k, alpha, A, lda, stride_a, B, ldb, stride_b,
                                     beta, C, ldc, stride_c, nb, stream);
      return;
  }
  throw std::invalid_argument("gemm: unknown configuration " +
                              std::to_string(static_cast<int>(config)));
}

}  // namespace lethe::LETHE_KNS
