// SGEMM driver: blocking, packing, threading and ISA dispatch around a register-tile micro-kernel.
//
// Blocking (Goto/BLIS style), loops from outside in:
//   jc over N in NC columns -> pc over K in KC -> pack B[KC×NC] -> ic over M in MC rows ->
//   pack A[MC×KC] -> jr over NR columns -> ir over MR rows -> micro-kernel (MR×NR tile of C).
// A packed B micro-panel (KC×NR) is reused across the ir loop from L1/L2, the packed A block
// (MC×KC) lives in L2 and streams through, and the packed B panel (KC×NC) lives in L3.
// Packing layout: A as MR-row micro-panels, k-major (for each k, MR consecutive values of a
// column of op(A)); B as NR-column micro-panels, k-major (for each k, NR consecutive values of a
// row of op(B)). Both are zero-padded to full MR/NR so the micro-kernel always runs a full tile;
// it writes only the valid m×n corner of C. Packing absorbs both transposes; on the AVX2 and
// AVX-512 paths the strided packs run as 8×8 register transposes (gemm_pack.h, gemm_avx2.cpp).
// Register tile: AVX-512 12×32 (24 zmm accumulators), AVX2 6×16 (12 ymm), scalar 4×8.
// Threading: C is cut into a tm×tn grid of MR/NR-aligned blocks, one per OpenMP thread; each
// thread runs the blocked loops on its block with its own 64-byte-aligned packing buffers, so
// threads never synchronise. Inside an active parallel region sgemm runs single-threaded.
// Errors (bad sizes or leading dimensions, an ISA path the CPU lacks) throw std::invalid_argument
// or std::runtime_error with one line naming the call, as kernels/ never include engine/.
#include "kernels/cpu/gemm.h"

#include <omp.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "kernels/cpu/gemm_pack.h"
#include "kernels/cpu/parallel.h"

namespace lethe::kernels::cpu {

namespace detail {
// Defined in gemm_avx512.cpp / gemm_avx2.cpp (compiled with the wide ISA). The tile shape is in
// the name so a mismatch with the table below fails to link rather than miscomputing.
void sgemm_ukernel_avx512_12x32(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
                                int m, int n, float alpha, float beta);
void sgemm_ukernel_avx2_6x16(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
                             int m, int n, float alpha, float beta);
void sgemm_ukernel_avx2_6x16_rows(int64_t kc, const float* a, int64_t lda, const float* bp,
                                  float* c, int64_t ldc, int m, int n, float alpha, float beta);
}  // namespace detail

namespace detail {

// Packs rows [0, mc) × k [0, kc) of op(A) (already offset to the block origin) into MR-row
// micro-panels: dst[p*kc*MR + k*MR + r] = op(A)[p*MR + r][k], zero beyond mc.
template <int MR>
void pack_a(bool trans, const float* a, int64_t lda, int64_t mc, int64_t kc, float* dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR, dst += kc * MR) {
    const int rows = static_cast<int>(std::min<int64_t>(MR, mc - i0));
    // Rows past `rows` (the edge panel) are zero. The wide ISA paths pack full panels in
    // gemm_avx2.cpp, so this loop serves the scalar path and edge panels only.
    const float* src = trans ? a + i0 : a + i0 * lda;
    const int64_t row_step = trans ? 1 : lda, k_step = trans ? lda : 1;
    for (int64_t k = 0; k < kc; ++k) {
      for (int r = 0; r < MR; ++r)
        dst[k * MR + r] = r < rows ? src[r * row_step + k * k_step] : 0.0f;
    }
  }
}

// Packs k [0, kc) × columns [0, nc) of op(B) into NR-column micro-panels:
// dst[p*kc*NR + k*NR + c] = op(B)[k][p*NR + c], zero beyond nc.
template <int NR>
void pack_b(bool trans, const float* b, int64_t ldb, int64_t kc, int64_t nc, float* dst) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR, dst += kc * NR) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - j0));
    if (!trans) {  // op(B)[k][j] = b[k*ldb + j]: each k is a contiguous run of NR values
      const float* src = b + j0;
      if (cols == NR) {
        for (int64_t k = 0; k < kc; ++k) std::memcpy(dst + k * NR, src + k * ldb, NR * 4);
      } else {
        for (int64_t k = 0; k < kc; ++k) {
          for (int c = 0; c < NR; ++c) dst[k * NR + c] = c < cols ? src[k * ldb + c] : 0.0f;
        }
      }
    } else {  // op(B)[k][j] = b[j*ldb + k]: NR column streams interleaved
      const float* src = b + j0 * ldb;
      for (int64_t k = 0; k < kc; ++k) {
        for (int c = 0; c < NR; ++c) dst[k * NR + c] = c < cols ? src[c * ldb + k] : 0.0f;
      }
    }
  }
}

template void pack_a<4>(bool, const float*, int64_t, int64_t, int64_t, float*);
template void pack_a<6>(bool, const float*, int64_t, int64_t, int64_t, float*);
template void pack_a<12>(bool, const float*, int64_t, int64_t, int64_t, float*);
template void pack_b<8>(bool, const float*, int64_t, int64_t, int64_t, float*);
template void pack_b<16>(bool, const float*, int64_t, int64_t, int64_t, float*);
template void pack_b<32>(bool, const float*, int64_t, int64_t, int64_t, float*);

}  // namespace detail

namespace {

using UkernelFn = void (*)(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
                           int m, int n, float alpha, float beta);

// Portable fallback tile; plain loops that the baseline (SSE2) compiler vectorises over j.
constexpr int kScalarMr = 4;
constexpr int kScalarNr = 8;

void ukernel_scalar(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc, int m,
                    int n, float alpha, float beta) {
  float acc[kScalarMr][kScalarNr] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const float* a = ap + k * kScalarMr;
    const float* b = bp + k * kScalarNr;
    for (int i = 0; i < kScalarMr; ++i) {
      for (int j = 0; j < kScalarNr; ++j) acc[i][j] += a[i] * b[j];
    }
  }
  for (int i = 0; i < m; ++i) {
    float* row = c + i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < n; ++j) row[j] = alpha * acc[i][j];
    } else {
      for (int j = 0; j < n; ++j) row[j] = alpha * acc[i][j] + beta * row[j];
    }
  }
}

bool cpu_has(GemmIsa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case GemmIsa::Scalar:
      return true;
    case GemmIsa::Avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case GemmIsa::Avx512:
      // The avx512 file is compiled with F/BW/DQ/VL + AVX2/FMA, so require all of them.
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  }
  return false;
}

// LETHE_ISA=scalar|avx2|avx512 caps the paths the process may take (an AVX-512 host then behaves
// as an AVX2-only one, for tests and comparisons); unset or empty: no cap.
GemmIsa isa_cap() {
  static const GemmIsa cap = [] {
    const char* e = std::getenv("LETHE_ISA");
    if (!e || !*e) return GemmIsa::Avx512;
    for (GemmIsa i : {GemmIsa::Scalar, GemmIsa::Avx2, GemmIsa::Avx512})
      if (std::strcmp(e, gemm_isa_name(i)) == 0) return i;
    throw std::invalid_argument(std::string("LETHE_ISA='") + e +
                                "': expected scalar, avx2 or avx512");
  }();
  return cap;
}

bool allowed(GemmIsa isa) {
  return cpu_has(isa) && static_cast<int>(isa) <= static_cast<int>(isa_cap());
}

GemmIsa detect_isa() {
  if (allowed(GemmIsa::Avx512)) return GemmIsa::Avx512;
  if (allowed(GemmIsa::Avx2)) return GemmIsa::Avx2;
  return GemmIsa::Scalar;
}

std::atomic<int> g_isa{-1};

// Per-thread 64-byte-aligned packing buffers, grown on demand and kept for the next call.
struct PackBuffer {
  float* data = nullptr;
  size_t cap = 0;  // floats
  ~PackBuffer() { std::free(data); }
  float* get(size_t n) {
    if (n > cap) {
      std::free(data);
      // Large buffers get 2 MiB alignment and a transparent-huge-page hint: the packed B panel
      // spans megabytes, and huge pages spare the micro-kernel TLB misses while it streams it.
      const size_t bytes = n * sizeof(float);
      const size_t align = bytes >= (size_t(1) << 20) ? size_t(2) << 20 : 64;
      const size_t rounded = (bytes + align - 1) / align * align;
      data = static_cast<float*>(std::aligned_alloc(align, rounded));
      if (!data) {
        cap = 0;
        throw std::bad_alloc();
      }
#ifdef MADV_HUGEPAGE
      if (align > 64) madvise(data, rounded, MADV_HUGEPAGE);
#endif
      cap = n;
    }
    return data;
  }
};
thread_local PackBuffer t_pack_a;
thread_local PackBuffer t_pack_b;

using PackFn = void (*)(bool trans, const float* src, int64_t ld, int64_t rows, int64_t cols,
                        float* dst);
// A micro-kernel that reads A in place (rows lda apart, k contiguous) instead of packed.
using RowsUkernelFn = void (*)(int64_t kc, const float* a, int64_t lda, const float* bp, float* c,
                               int64_t ldc, int m, int n, float alpha, float beta);

struct Config {
  int mr, nr;  // register tile
  int64_t kc;  // K block: longer means fewer read-modify-write passes over C
  int64_t mc;  // M block (multiple of mr): the MC×KC packed A block sits in L2
  int64_t nc;  // N block (multiple of nr): the KC×NC packed B panel sits in L2/L3
  UkernelFn fn;
  PackFn pack_a, pack_b;  // instantiated for this mr / nr
  RowsUkernelFn rows_fn;  // null: A is always packed
};

// AVX-512 (measured on Zen 5: 48 KiB L1d, 1 MiB L2): KC 512 halves the passes over C compared with
// 256, which fit the B micro-panel in L1 but lost more to C traffic than it won. The 64 KiB B
// micro-panel and the 96×512×4 = 192 KiB A block both stream from L2, within its bandwidth
// (~15 B/cycle needed); the KC×NC B panel (≤ 8 MiB) lives in L3.
// The AVX-512 path packs with the AVX2 routines (every AVX-512 CPU has AVX2).
const Config kAvx512{12,
                     32,
                     512,
                     96,
                     4096,
                     detail::sgemm_ukernel_avx512_12x32,
                     detail::pack_a_avx2<12>,
                     detail::pack_b_avx2<32>,
                     nullptr};
const Config kAvx2{6,
                   16,
                   256,
                   192,
                   4096,
                   detail::sgemm_ukernel_avx2_6x16,
                   detail::pack_a_avx2<6>,
                   detail::pack_b_avx2<16>,
                   detail::sgemm_ukernel_avx2_6x16_rows};
const Config kScalar{kScalarMr,
                     kScalarNr,
                     256,
                     128,
                     2048,
                     ukernel_scalar,
                     detail::pack_a<kScalarMr>,
                     detail::pack_b<kScalarNr>,
                     nullptr};

const Config& config_for(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::Avx512:
      return kAvx512;
    case GemmIsa::Avx2:
      return kAvx2;
    case GemmIsa::Scalar:
      break;
  }
  return kScalar;
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// Splits `total` into `parts` nearly equal blocks that are multiples of `align` (last may be
// shorter); returns the block size.
int64_t even_block(int64_t total, int64_t max_block, int64_t align) {
  const int64_t parts = ceil_div(total, max_block);
  return std::min(max_block, ceil_div(ceil_div(total, parts), align) * align);
}

// Single-threaded blocked GEMM on one block of C; A, B, C are already offset to its origin.
void gemm_block(const Config& cfg, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                float alpha, const float* A, int64_t lda, const float* B, int64_t ldb, float beta,
                float* C, int64_t ldc) {
  const int mr = cfg.mr, nr = cfg.nr;
  const int64_t kc_max = even_block(K, cfg.kc, 1);
  const int64_t mc_max = even_block(M, cfg.mc, mr);
  const int64_t nc_max = even_block(N, cfg.nc, nr);
  float* bpack = t_pack_b.get(static_cast<size_t>(kc_max * ceil_div(nc_max, nr) * nr));
  // Packing A pays when each packed panel feeds many column panels; with N ≤ 4 of them (the
  // channel-blocked Winograd's T×C by C×O products, O ≤ 64) it is a second pass over A for nothing.
  const bool direct_a = cfg.rows_fn && !trans_a && N <= 4 * nr;
  float* apack =
      direct_a ? nullptr : t_pack_a.get(static_cast<size_t>(kc_max * ceil_div(mc_max, mr) * mr));

  for (int64_t jc = 0; jc < N; jc += nc_max) {
    const int64_t nc = std::min(nc_max, N - jc);
    for (int64_t pc = 0; pc < K; pc += kc_max) {
      const int64_t kc = std::min(kc_max, K - pc);
      // Later K blocks accumulate onto what the first one wrote.
      const float beta_k = pc == 0 ? beta : 1.0f;
      cfg.pack_b(trans_b, trans_b ? B + jc * ldb + pc : B + pc * ldb + jc, ldb, kc, nc, bpack);
      for (int64_t ic = 0; ic < M; ic += mc_max) {
        const int64_t mc = std::min(mc_max, M - ic);
        if (direct_a) {  // A read in place: no pack
          const float* a = A + ic * lda + pc;
          for (int64_t jr = 0; jr < nc; jr += nr) {
            const int n = static_cast<int>(std::min<int64_t>(nr, nc - jr));
            const float* bp = bpack + (jr / nr) * kc * nr;
            float* c = C + ic * ldc + jc + jr;
            for (int64_t ir = 0; ir < mc; ir += mr) {
              const int m = static_cast<int>(std::min<int64_t>(mr, mc - ir));
              cfg.rows_fn(kc, a + ir * lda, lda, bp, c + ir * ldc, ldc, m, n, alpha, beta_k);
            }
          }
          continue;
        }
        cfg.pack_a(trans_a, trans_a ? A + pc * lda + ic : A + ic * lda + pc, lda, mc, kc, apack);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int n = static_cast<int>(std::min<int64_t>(nr, nc - jr));
          const float* bp = bpack + (jr / nr) * kc * nr;
          float* c = C + ic * ldc + jc + jr;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int m = static_cast<int>(std::min<int64_t>(mr, mc - ir));
            cfg.fn(kc, apack + (ir / mr) * kc * mr, bp, c + ir * ldc, ldc, m, n, alpha, beta_k);
          }
        }
      }
    }
  }
}

void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* row = C + i * ldc;
    if (beta == 0.0f) {
      std::fill(row, row + N, 0.0f);
    } else if (beta != 1.0f) {
      for (int64_t j = 0; j < N; ++j) row[j] *= beta;
    }
  }
}

}  // namespace

GemmIsa gemm_isa() {
  int isa = g_isa.load(std::memory_order_relaxed);
  if (isa < 0) {
    isa = static_cast<int>(detect_isa());
    g_isa.store(isa, std::memory_order_relaxed);
  }
  return static_cast<GemmIsa>(isa);
}

bool gemm_isa_supported(GemmIsa isa) {
  return allowed(isa);
}

void set_gemm_isa(GemmIsa isa) {
  const std::string name = gemm_isa_name(isa);
  if (!cpu_has(isa))
    throw std::runtime_error("set_gemm_isa: this CPU does not support the " + name + " path");
  if (!allowed(isa))
    throw std::runtime_error("set_gemm_isa: the " + name +
                             " path is above LETHE_ISA=" + gemm_isa_name(isa_cap()));
  g_isa.store(static_cast<int>(isa), std::memory_order_relaxed);
}

const char* gemm_isa_name(GemmIsa isa) {
  switch (isa) {
    case GemmIsa::Scalar:
      return "scalar";
    case GemmIsa::Avx2:
      return "avx2";
    case GemmIsa::Avx512:
      return "avx512";
  }
  return "unknown";
}

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  using std::to_string;
  if (M < 0 || N < 0 || K < 0)
    throw std::invalid_argument("sgemm: negative size M=" + to_string(M) + " N=" + to_string(N) +
                                " K=" + to_string(K));
  if (M == 0 || N == 0) return;
  if (ldc < N) throw std::invalid_argument("sgemm: ldc=" + to_string(ldc) + " < N=" + to_string(N));
  if (K == 0 || alpha == 0.0f) {  // no product term: C = beta * C (A and B are not read)
    scale_c(M, N, beta, C, ldc);
    return;
  }
  if (lda < (trans_a ? M : K))
    throw std::invalid_argument("sgemm: lda=" + to_string(lda) + " too small for " +
                                (trans_a ? "K×M" : "M×K") + " A (M=" + to_string(M) +
                                " K=" + to_string(K) + ")");
  if (ldb < (trans_b ? K : N))
    throw std::invalid_argument("sgemm: ldb=" + to_string(ldb) + " too small for " +
                                (trans_b ? "N×K" : "K×N") + " B (N=" + to_string(N) +
                                " K=" + to_string(K) + ")");

  const Config& cfg = config_for(gemm_isa());
  const int64_t m_tiles = ceil_div(M, cfg.mr), n_tiles = ceil_div(N, cfg.nr);

  // Thread count: one per core unless nested, or unless the product is too small to pay for
  // waking a second thread (~64³ multiply-adds each).
  int threads = nthreads();
  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  threads = static_cast<int>(std::min<double>(threads, std::max(1.0, work / (64.0 * 64 * 64))));
  threads = static_cast<int>(std::min<int64_t>(threads, m_tiles * n_tiles));

  if (threads <= 1) {
    gemm_block(cfg, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }

  // Grid tm×tn = threads that minimises what each thread packs (its rows of A plus its columns
  // of B); ties go to splitting N, which keeps each thread's packed B panel smaller.
  int tm = threads, tn = 1;
  double best = -1.0;
  for (int cand_n = 1; cand_n <= threads; ++cand_n) {
    if (threads % cand_n) continue;
    const int cand_m = threads / cand_n;
    if (cand_m > m_tiles || cand_n > n_tiles) continue;
    const double cost = static_cast<double>(ceil_div(m_tiles, cand_m) * cfg.mr) +
                        static_cast<double>(ceil_div(n_tiles, cand_n) * cfg.nr);
    if (best < 0 || cost <= best) best = cost, tm = cand_m, tn = cand_n;
  }
  if (best < 0) {  // no exact factorisation fits the tile counts: split the longer side only
    if (n_tiles >= m_tiles) {
      tm = 1, tn = static_cast<int>(std::min<int64_t>(threads, n_tiles));
    } else {
      tn = 1, tm = static_cast<int>(std::min<int64_t>(threads, m_tiles));
    }
  }

  // An exception cannot leave a parallel region; carry the first one out (bad_alloc of a buffer).
  std::exception_ptr error;
  // Blocks are dealt round-robin over the team: the runtime may give fewer threads than asked
  // (OMP_THREAD_LIMIT, OMP_DYNAMIC), and every block must still be computed.
#pragma omp parallel num_threads(tm* tn)
  for (int t = omp_get_thread_num(); t < tm * tn; t += omp_get_num_threads()) {
    const int ti = t / tn, tj = t % tn;
    const int64_t i0 = std::min(M, m_tiles * ti / tm * cfg.mr);
    const int64_t i1 = std::min(M, m_tiles * (ti + 1) / tm * cfg.mr);
    const int64_t j0 = std::min(N, n_tiles * tj / tn * cfg.nr);
    const int64_t j1 = std::min(N, n_tiles * (tj + 1) / tn * cfg.nr);
    if (i1 > i0 && j1 > j0) {
      const float* a = trans_a ? A + i0 : A + i0 * lda;
      const float* b = trans_b ? B + j0 * ldb : B + j0;
      try {
        gemm_block(cfg, trans_a, trans_b, i1 - i0, j1 - j0, K, alpha, a, lda, b, ldb, beta,
                   C + i0 * ldc + j0, ldc);
      } catch (...) {
#pragma omp critical(lethe_sgemm_error)
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace lethe::kernels::cpu
