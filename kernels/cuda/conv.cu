// conv2d as im2col + GEMM (NCHW, float32). The data-movement kernels are one thread per output
// element with grid-stride loops (1-d grid of at most kMaxBlocks blocks of `threads`), the
// contiguous index fastest so reads and writes coalesce:
//   im2col      writes every column entry (padding as 0) into a caller-chosen [image, row, col]
//               layout, so the same kernel builds per-image column matrices (forward, backward
//               input) and one wide [CKK, images·OHW] matrix (backward weight);
//   col2im      is a gather: each input pixel walks exactly the (kh, kw) taps whose output
//               position lands on the stride grid and sums those column entries, so dx is
//               overwritten in a fixed order (deterministic, no atomics);
//   bias_add    y += bias per channel; swap_outer rearranges dy [N,O,P] to [O,N,P];
//   bias_grad   one block per output channel, per-thread strided sums, a shared-memory tree down
//               to one warp and a shuffle reduction (fixed order: deterministic).
// The convolutions compose these with gemm.cu (or a vendor GEMM through ConvExec::gemm_fn),
// a chunk of images at a time so the workspace stays bounded.
#include "kernels/cuda/conv.cuh"

#include <stdexcept>
#include <string>

namespace lethe::LETHE_KNS {
namespace {

constexpr int64_t kMaxBlocks = 4096;

__global__ void im2col_kernel(const float* x, float* cols, int64_t n_img, ConvGeometry g,
                              int64_t img_stride, int64_t row_stride) {
  const int64_t ohw = g.oh * g.ow, kk = g.kh * g.kw, rows = g.c * kk;
  const int64_t total = n_img * rows * ohw;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t p = e % ohw, t = e / ohw;
    int64_t r = t % rows, i = t / rows;
    int64_t c = r / kk, k = r % kk;
    int64_t kh = k / g.kw, kw = k % g.kw;
    int64_t oh = p / g.ow, ow = p % g.ow;
    int64_t ih = oh * g.stride_h - g.pad_h + kh, iw = ow * g.stride_w - g.pad_w + kw;
    float v = 0.f;
    // proof:bounds (tests/kernels/test_proof_bounds.cpp builds a copy without the check below)
    if (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) v = x[((i * g.c + c) * g.h + ih) * g.w + iw];
    cols[i * img_stride + r * row_stride + p] = v;
  }
}

__global__ void col2im_kernel(const float* cols, float* dx, int64_t n_img, ConvGeometry g,
                              int64_t img_stride, int64_t row_stride) {
  const int64_t hw = g.h * g.w, total = n_img * g.c * hw;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t iw = e % g.w, t = e / g.w;
    int64_t ih = t % g.h;
    t /= g.h;
    int64_t c = t % g.c, i = t / g.c;
    const float* ci = cols + i * img_stride;
    // Taps with (ih + pad - kh) on the stride grid: kh ≡ (ih + pad) mod stride; oh falls as kh
    // rises, so the loop stops at the first oh below 0.
    int64_t yh = ih + g.pad_h, yw = iw + g.pad_w;
    float acc = 0.f;
    for (int64_t kh = yh % g.stride_h; kh < g.kh; kh += g.stride_h) {
      int64_t oh = (yh - kh) / g.stride_h;
      if (oh >= g.oh) continue;
      if (oh < 0) break;
      for (int64_t kw = yw % g.stride_w; kw < g.kw; kw += g.stride_w) {
        int64_t ow = (yw - kw) / g.stride_w;
        if (ow >= g.ow) continue;
        if (ow < 0) break;
        acc += ci[((c * g.kh + kh) * g.kw + kw) * row_stride + oh * g.ow + ow];
      }
    }
    dx[e] = acc;
  }
}

__global__ void bias_add_kernel(float* y, const float* bias, int64_t n, int64_t o, int64_t p) {
  const int64_t total = n * o * p;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[e] += bias[(e / p) % o];
}

__global__ void swap_outer_kernel(const float* src, float* dst, int64_t a, int64_t b, int64_t p) {
  const int64_t total = a * b * p;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t q = e % p, t = e / p;
    int64_t ia = t % a, ib = t / a;  // e indexes dst [b, a, p]
    dst[e] = src[(ia * b + ib) * p + q];
  }
}

__global__ void bias_grad_kernel(const float* dy, float* db, int64_t n, int64_t o, int64_t p) {
  LETHE_SHARED(float, s, [1024]);
  const int t = static_cast<int>(threadIdx.x), nt = static_cast<int>(blockDim.x);
  const int64_t ch = blockIdx.x;
  float acc = 0.f;
  for (int64_t i = 0; i < n; ++i) {
    const float* row = dy + (i * o + ch) * p;
    for (int64_t q = t; q < p; q += nt) acc += row[q];
  }
  s[t] = acc;
  __syncthreads();
  for (int h = nt / 2; h >= 32; h /= 2) {
    if (t < h) s[t] += s[t + h];
    __syncthreads();
  }
  if (t < 32) {
    float v = s[t];
    for (int off = 16; off > 0; off /= 2) v += __shfl_down_sync(0xffffffffu, v, off);
    if (t == 0) db[ch] = v;
  }
}

void run_gemm(const ConvExec& e, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A,
              int64_t lda, int64_t sa, const float* B, int64_t ldb, int64_t sb, float beta,
              float* C, int64_t ldc, int64_t sc, int64_t batch, cudaStream_t s) {
  if (e.gemm_fn)
    e.gemm_fn(e.gemm_ctx, ta, tb, M, N, K, 1.f, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch, s);
  else
    gemm(ta, tb, M, N, K, 1.f, A, lda, sa, B, ldb, sb, beta, C, ldc, sc, batch, s, e.gemm_config);
}

void check_exec(const ConvGeometry& g, const ConvExec& e, const char* what) {
  check_threads(e.threads, what);
  if (e.chunk < 1) throw std::invalid_argument(std::string(what) + ": chunk must be positive");
  if (!e.work && g.n > 0 && !g.pointwise())
    throw std::invalid_argument(std::string(what) + ": no workspace");
}

}  // namespace

void im2col(const float* x, float* cols, int64_t n_img, const ConvGeometry& g, int64_t img_stride,
            int64_t row_stride, cudaStream_t stream, int threads) {
  check_threads(threads, "im2col");
  int64_t total = n_img * g.c * g.kh * g.kw * g.oh * g.ow;
  if (total == 0) return;
  LETHE_LAUNCH(im2col_kernel, grid_for(total, threads, kMaxBlocks), threads, 0, stream, x, cols,
               n_img, g, img_stride, row_stride);
}

void col2im(const float* cols, float* dx, int64_t n_img, const ConvGeometry& g, int64_t img_stride,
            int64_t row_stride, cudaStream_t stream, int threads) {
  check_threads(threads, "col2im");
  int64_t total = n_img * g.c * g.h * g.w;
  if (total == 0) return;
  LETHE_LAUNCH(col2im_kernel, grid_for(total, threads, kMaxBlocks), threads, 0, stream, cols, dx,
               n_img, g, img_stride, row_stride);
}

void bias_add(float* y, const float* bias, int64_t n, int64_t o, int64_t p, cudaStream_t stream,
              int threads) {
  check_threads(threads, "bias_add");
  int64_t total = n * o * p;
  if (total == 0) return;
  LETHE_LAUNCH(bias_add_kernel, grid_for(total, threads, kMaxBlocks), threads, 0, stream, y, bias,
               n, o, p);
}

void swap_outer(const float* src, float* dst, int64_t a, int64_t b, int64_t p, cudaStream_t stream,
                int threads) {
  check_threads(threads, "swap_outer");
  int64_t total = a * b * p;
  if (total == 0) return;
  LETHE_LAUNCH(swap_outer_kernel, grid_for(total, threads, kMaxBlocks), threads, 0, stream, src,
               dst, a, b, p);
}

void bias_grad(const float* dy, float* db, int64_t n, int64_t o, int64_t p, cudaStream_t stream,
               int threads) {
  check_threads(threads, "bias_grad");
  if (threads & (threads - 1))
    throw std::invalid_argument("bias_grad: threads per block must be a power of two");
  if (o == 0) return;
  if (o > 0x7fffffff) throw std::invalid_argument("bias_grad: too many channels");
  LETHE_LAUNCH(bias_grad_kernel, static_cast<unsigned>(o), threads, 0, stream, dy, db, n, o, p);
}

int64_t conv2d_workspace(const ConvGeometry& g, int64_t chunk) {
  int64_t c = chunk < g.n ? chunk : g.n;
  return c * (g.c * g.kh * g.kw + g.o) * g.oh * g.ow;
}

void conv2d_forward(const float* x, const float* w, const float* bias, float* y,
                    const ConvGeometry& g, const ConvExec& e, cudaStream_t stream) {
  check_exec(g, e, "conv2d_forward");
  const int64_t ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow, chw = g.c * g.h * g.w;
  const bool pw = g.pointwise();
  for (int64_t n0 = 0; n0 < g.n; n0 += e.chunk) {
    int64_t nc = g.n - n0 < e.chunk ? g.n - n0 : e.chunk;
    const float* cols = x + n0 * chw;
    if (!pw) {
      im2col(cols, e.work, nc, g, ckk * ohw, ohw, stream, e.threads);
      cols = e.work;
    }
    run_gemm(e, false, false, g.o, ohw, ckk, w, ckk, 0, cols, ohw, ckk * ohw, 0.f,
             y + n0 * g.o * ohw, ohw, g.o * ohw, nc, stream);
  }
  if (bias) bias_add(y, bias, g.n, g.o, ohw, stream, e.threads);
}

void conv2d_backward_input(const float* dy, const float* w, float* dx, const ConvGeometry& g,
                           const ConvExec& e, cudaStream_t stream) {
  check_exec(g, e, "conv2d_backward_input");
  const int64_t ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow, chw = g.c * g.h * g.w;
  const bool pw = g.pointwise();
  for (int64_t n0 = 0; n0 < g.n; n0 += e.chunk) {
    int64_t nc = g.n - n0 < e.chunk ? g.n - n0 : e.chunk;
    float* cols = pw ? dx + n0 * chw : e.work;
    run_gemm(e, true, false, ckk, ohw, g.o, w, ckk, 0, dy + n0 * g.o * ohw, ohw, g.o * ohw, 0.f,
             cols, ohw, ckk * ohw, nc, stream);
    if (!pw) col2im(cols, dx + n0 * chw, nc, g, ckk * ohw, ohw, stream, e.threads);
  }
}

void conv2d_backward_weight(const float* dy, const float* x, float* dw, float* db,
                            const ConvGeometry& g, const ConvExec& e, cudaStream_t stream) {
  check_exec(g, e, "conv2d_backward_weight");
  const int64_t ckk = g.c * g.kh * g.kw, ohw = g.oh * g.ow, chw = g.c * g.h * g.w;
  if (g.n == 0 || ohw == 0) {  // no terms: the sums are 0
    if (g.o * ckk > 0) LETHE_CUDA_CHECK(cudaMemsetAsync(dw, 0, g.o * ckk * sizeof(float), stream));
    if (db && g.o > 0) LETHE_CUDA_CHECK(cudaMemsetAsync(db, 0, g.o * sizeof(float), stream));
    return;
  }
  const bool pw = g.pointwise();
  for (int64_t n0 = 0; n0 < g.n; n0 += e.chunk) {
    int64_t nc = g.n - n0 < e.chunk ? g.n - n0 : e.chunk;
    const int64_t kcols = nc * ohw;  // the GEMM's K: every output position of the chunk
    const float* cols = x + n0 * chw;
    const float* dyc = dy + n0 * g.o * ohw;
    if (nc > 1 || !pw) {
      im2col(cols, e.work, nc, g, ohw, kcols, stream, e.threads);
      cols = e.work;
    }
    if (nc > 1) {
      float* dyp = e.work + ckk * kcols;
      swap_outer(dyc, dyp, nc, g.o, ohw, stream, e.threads);
      dyc = dyp;
    }
    run_gemm(e, false, true, g.o, ckk, kcols, dyc, kcols, 0, cols, kcols, 0, n0 == 0 ? 0.f : 1.f,
             dw, ckk, 0, 1, stream);
  }
  if (db) {
    int t = 32;  // the largest power of two within e.threads
    while (t * 2 <= e.threads) t *= 2;
    bias_grad(dy, db, g.n, g.o, ohw, stream, t);
  }
}

}  // namespace lethe::LETHE_KNS
