// conv2d on the device as im2col + GEMM (kernels/cuda/conv.cu), NCHW, float32, with the
// semantics of CpuRefBackend::conv2d_*: x [N,C,H,W], w [O,C,KH,KW], bias [O], y [N,O,OH,OW].
#pragma once
#include <cstdint>

#include "kernels/common/conv_geometry.h"
#include "kernels/cuda/compat.h"
#include "kernels/cuda/gemm.cuh"

namespace lethe::LETHE_KNS {

// The sizes of one convolution (oh, ow as the caller's output tensor has them), shared with the
// CPU kernels.
using kernels::ConvGeometry;

// ---- the kernels ----
// Column matrix of images [n0, n0 + n_img): element (image i, row r = (c·KH + kh)·KW + kw,
// column p = oh·OW + ow) goes to cols[i·img_stride + r·row_stride + p]; 0 where the window
// reads padding. img_stride = CKK·OHW, row_stride = OHW gives per-image [CKK, OHW] matrices;
// img_stride = OHW, row_stride = n_img·OHW gives one [CKK, n_img·OHW] matrix. x points at
// image n0.
void im2col(const float* x, float* cols, int64_t n_img, const ConvGeometry& g, int64_t img_stride,
            int64_t row_stride, cudaStream_t stream, int threads = 256);
// The adjoint, as a gather: dx[i,c,ih,iw] = Σ of the column entries that read it (overwritten,
// deterministic, no atomics). Same cols layout arguments as im2col.
void col2im(const float* cols, float* dx, int64_t n_img, const ConvGeometry& g, int64_t img_stride,
            int64_t row_stride, cudaStream_t stream, int threads = 256);
// y[n,o,p] += bias[o] for y [n, o, p].
void bias_add(float* y, const float* bias, int64_t n, int64_t o, int64_t p, cudaStream_t stream,
              int threads = 256);
// dst [b, a, p] = src [a, b, p] (swaps the two outer dimensions).
void swap_outer(const float* src, float* dst, int64_t a, int64_t b, int64_t p, cudaStream_t stream,
                int threads = 256);
// db[o] = Σ_{n,p} dy[n,o,p]: one block per channel, a fixed-order tree (deterministic).
// threads: a power of two in [32, 1024].
void bias_grad(const float* dy, float* db, int64_t n, int64_t o, int64_t p, cudaStream_t stream,
               int threads = 256);

// ---- the composed convolutions ----
// A GEMM with the contract of lethe::LETHE_KNS::gemm (for a vendor library); ctx is passed
// through.
using GemmFn = void (*)(void* ctx, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                        const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb,
                        int64_t stride_b, float beta, float* C, int64_t ldc, int64_t stride_c,
                        int64_t batch, cudaStream_t stream);
struct ConvExec {
  float* work = nullptr;  // conv2d_workspace(g, chunk) floats
  int64_t chunk = 1;      // images per im2col + GEMM round
  GemmConfig gemm_config = GemmConfig::Auto;
  int threads = 256;         // of the im2col / col2im / bias kernels
  GemmFn gemm_fn = nullptr;  // null: the kernels of gemm.cu
  void* gemm_ctx = nullptr;
};
// Floats of workspace the three convolutions need for `chunk` images at a time.
int64_t conv2d_workspace(const ConvGeometry& g, int64_t chunk);

// y = conv(x, w) + bias (bias may be null). Per chunk: im2col, then one batched GEMM
// y[i] = W[O, CKK] · cols[i] with W broadcast (stride 0); 1×1 stride-1 unpadded convolutions
// multiply x directly.
void conv2d_forward(const float* x, const float* w, const float* bias, float* y,
                    const ConvGeometry& g, const ConvExec& e, cudaStream_t stream);
// dx = conv_transpose(dy, w): per chunk cols[i] = Wᵀ · dy[i] (batched GEMM), then col2im.
void conv2d_backward_input(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                           const ConvExec& e, cudaStream_t stream);
// dw = Σ_i dy[i] · cols[i]ᵀ: per chunk the columns of all its images side by side
// ([CKK, chunk·OHW]) and dy rearranged to [O, chunk·OHW], one GEMM with K = chunk·OHW,
// accumulating over chunks (beta = 1 after the first). db (may be null) by bias_grad.
void conv2d_backward_weight(const float* dy, const float* x, float* dw, float* db,
                            const ConvGeometry& g, const ConvExec& e, cudaStream_t stream);

}  // namespace lethe::LETHE_KNS
