#pragma once
#include <cstdint>
namespace lethe::kernels::cpu {
// Row-major C[M,N] = alpha * op(A) * op(B) + beta * C.
// op(A) is M×K: A is stored M×K with leading dimension lda, or K×M when trans_a.
// op(B) is K×N: B is stored K×N (ldb), or N×K when trans_b. beta == 0 means C is not read (may
// hold NaN). Negative sizes or too small leading dimensions throw std::invalid_argument.
void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
           int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// The CPU kernels' ISA path (GEMM micro-kernels, and vmath's AVX2 loops on either wider path).
// LETHE_ISA=scalar|avx2 in the environment caps it (an AVX-512 host then acts as an AVX2 one).
enum class GemmIsa { Scalar, Avx2, Avx512 };
GemmIsa gemm_isa();                      // the path sgemm uses now (chosen at first use from CPUID)
bool gemm_isa_supported(GemmIsa isa);    // this CPU has it and LETHE_ISA does not exclude it
void set_gemm_isa(GemmIsa isa);          // force a path (tests and benchmarks); throws
                                         // std::runtime_error if the CPU lacks it
const char* gemm_isa_name(GemmIsa isa);  // "scalar", "avx2", "avx512"
}  // namespace lethe::kernels::cpu
