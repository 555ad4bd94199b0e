// Packing of sgemm's operands into micro-panels (the layout is in gemm.cpp's header comment).
// Internal to kernels/cpu. The portable versions are compiled in gemm.cpp at the baseline ISA; the
// AVX2 versions in gemm_avx2.cpp transpose 8×8 blocks in registers for the two strided cases
// (A not transposed: MR row streams interleaved; B transposed: NR column streams interleaved),
// where the portable loops move one float at a time, and hand every other panel to the portable
// code. Packing is pure data movement: both versions write bit-identical panels.
#pragma once
#include <cstdint>

namespace lethe::kernels::cpu::detail {

// dst[p·kc·MR + k·MR + r] = op(A)[p·MR + r][k] for rows [0, mc) and k [0, kc), zero beyond mc.
// Instantiated for MR = 4, 6, 12.
template <int MR>
void pack_a(bool trans, const float* a, int64_t lda, int64_t mc, int64_t kc, float* dst);
// dst[p·kc·NR + k·NR + c] = op(B)[k][p·NR + c] for k [0, kc) and columns [0, nc), zero beyond nc.
// Instantiated for NR = 8, 16, 32.
template <int NR>
void pack_b(bool trans, const float* b, int64_t ldb, int64_t kc, int64_t nc, float* dst);

// The same contracts with AVX2 (gemm_avx2.cpp; call only when the CPU has AVX2). MR = 6, 12;
// NR = 16, 32.
template <int MR>
void pack_a_avx2(bool trans, const float* a, int64_t lda, int64_t mc, int64_t kc, float* dst);
template <int NR>
void pack_b_avx2(bool trans, const float* b, int64_t ldb, int64_t kc, int64_t nc, float* dst);

}  // namespace lethe::kernels::cpu::detail
