// DeviceBackend: bmm and conv2d. Every GEMM goes through one dispatcher: the tiled kernels of
// kernels/cuda/gemm.cu (FastPath::Kernels) or cublasSgemmStridedBatched (FastPath::Vendor;
// the fake cuBLAS in emu builds). cuBLAS is column-major, so a row-major C = op(A)·op(B) is
// computed as the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: the operands swap places, keep their
// transpose flags, and M and N swap. Convolutions are im2col + GEMM (kernels/cuda/conv.cu), a
// bounded chunk of images per round. In real CUDA builds the Vendor path runs convolutions on
// cuDNN instead (emu builds have no cuDNN: there the Vendor path is im2col + cuBLAS GEMMs).
#include <algorithm>
#include <climits>
#include <mutex>

#include "engine/backend/cuda/blas.h"
#include "engine/backend/cuda/device_backend.h"
#include "engine/core/error.h"
#include "kernels/cuda/conv.cuh"
#include "kernels/cuda/gemm.cuh"
#if defined(LETHE_CUDA_HOST) && defined(LETHE_HAVE_CUDNN)
#include "engine/backend/cuda/real/cudnn_conv.h"
#endif

namespace lethe::LETHE_KNS {

cublasHandle_t blas_handle() {
  static cublasHandle_t h = [] {
    cublasHandle_t x = nullptr;
    LETHE_CUBLAS_CHECK(cublasCreate(&x));
    LETHE_CUBLAS_CHECK(cublasSetStream(x, backend_stream()));
    return x;
  }();
  return h;
}

namespace {

// cuBLAS math mode follows --tf32 explicitly (never the library's or the environment's default):
// CUBLAS_DEFAULT_MATH keeps float32 GEMMs in float32; TF32 rounds the operands to 10-bit
// mantissas on tensor cores.
void apply_blas_math_mode() {
  static std::mutex m;
  static int current = -1;
  const int want = device_options().tf32 ? 1 : 0;
  std::lock_guard<std::mutex> g(m);
  if (want == current) return;
  LETHE_CUBLAS_CHECK(
      cublasSetMathMode(blas_handle(), want ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  current = want;
}

// Workspace bound of the convolutions (floats): 256 MB of columns at most, whole images.
constexpr int64_t kConvWorkspaceFloats = int64_t{64} << 20;

int to_int(int64_t v, const char* what) {
  LETHE_CHECK(v >= 0 && v <= INT_MAX, LETHE_DEVICE_NAME, " backend: cuBLAS ", what, " ", v,
              " exceeds int");
  return static_cast<int>(v);
}

// Row-major strided-batched GEMM on cuBLAS (the GemmFn contract of conv.cuh).
void vendor_gemm(void* /*ctx*/, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                 const float* A, int64_t lda, int64_t stride_a, const float* B, int64_t ldb,
                 int64_t stride_b, float beta, float* C, int64_t ldc, int64_t stride_c,
                 int64_t batch, cudaStream_t /*stream: the handle's*/) {
  if (M == 0 || N == 0 || batch == 0) return;
  // Leading dimensions of empty operands may be 0 in row-major terms; cuBLAS wants ≥ 1.
  auto ld = [](int64_t v) { return std::max<int64_t>(v, 1); };
  apply_blas_math_mode();
  LETHE_CUBLAS_CHECK(cublasSgemmStridedBatched(
      blas_handle(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, to_int(N, "n"),
      to_int(M, "m"), to_int(K, "k"), &alpha, B, to_int(ld(ldb), "ldb"), stride_b, A,
      to_int(ld(lda), "lda"), stride_a, &beta, C, to_int(ld(ldc), "ldc"), stride_c,
      to_int(batch, "batch")));
}

ConvExec conv_exec(DeviceBackend::FastPath path, const ConvGeometry& g, DeviceBuffer& work) {
  ConvExec e;
  int64_t per_image = conv2d_workspace(g, 1);
  e.chunk = std::max<int64_t>(
      1, std::min<int64_t>(g.n, kConvWorkspaceFloats / std::max<int64_t>(per_image, 1)));
  work = DeviceBuffer(static_cast<size_t>(conv2d_workspace(g, e.chunk)) * sizeof(float));
  e.work = work.as<float>();
  if (path == DeviceBackend::FastPath::Vendor) e.gemm_fn = vendor_gemm;
  return e;
}

ConvGeometry geometry(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dArgs& a) {
  LETHE_CHECK(x.dim() == 4 && w.dim() == 4 && y.dim() == 4, LETHE_DEVICE_NAME,
              " backend conv2d: x, w and y must be 4-d, got ", shape_str(x.shape()), ", ",
              shape_str(w.shape()), ", ", shape_str(y.shape()));
  ConvGeometry g{x.size(0), x.size(1), x.size(2),  x.size(3),  w.size(0), w.size(2), w.size(3),
                 y.size(2), y.size(3), a.stride_h, a.stride_w, a.pad_h,   a.pad_w};
  LETHE_CHECK(
      w.size(1) == g.c && y.size(0) == g.n && y.size(1) == g.o && g.stride_h > 0 && g.stride_w > 0,
      LETHE_DEVICE_NAME, " backend conv2d: shapes do not fit: x ", shape_str(x.shape()), ", w ",
      shape_str(w.shape()), ", y ", shape_str(y.shape()));
  return g;
}

}  // namespace

void DeviceBackend::bmm(const Tensor& a, const Tensor& b, Tensor& c, bool ta, bool tb,
                        bool accumulate) {
  if (!all_f32({&a, &b, &c})) return ref_.bmm(a, b, c, ta, tb, accumulate);
  LETHE_CHECK(a.dim() == 3 && b.dim() == 3 && c.dim() == 3, LETHE_DEVICE_NAME,
              " backend bmm: operands must be 3-d, got ", shape_str(a.shape()), ", ",
              shape_str(b.shape()), ", ", shape_str(c.shape()));
  const int64_t B = c.size(0), M = c.size(1), N = c.size(2), K = ta ? a.size(1) : a.size(2);
  const int64_t Bb = b.size(0);
  LETHE_CHECK(a.size(0) == B && (ta ? a.size(2) : a.size(1)) == M && (Bb == 1 || Bb == B) &&
                  (tb ? b.size(2) : b.size(1)) == K && (tb ? b.size(1) : b.size(2)) == N,
              LETHE_DEVICE_NAME, " backend bmm: shapes do not fit: a ", shape_str(a.shape()),
              ta ? "ᵀ" : "", ", b ", shape_str(b.shape()), tb ? "ᵀ" : "", ", c ",
              shape_str(c.shape()));
  DeviceBuffer da = upload(a), db = upload(b);
  DeviceBuffer dc = accumulate ? upload(c) : output_buffer(c);
  const int64_t lda = ta ? M : K, ldb = tb ? K : N;
  const int64_t sa = M * K, sb = Bb == 1 ? 0 : K * N, sc = M * N;
  const float beta = accumulate ? 1.f : 0.f;
  if (gemm_path() == FastPath::Vendor)
    vendor_gemm(nullptr, ta, tb, M, N, K, 1.f, da.as<float>(), lda, sa, db.as<float>(), ldb, sb,
                beta, dc.as<float>(), N, sc, B, backend_stream());
  else
    gemm(ta, tb, M, N, K, 1.f, da.as<float>(), lda, sa, db.as<float>(), ldb, sb, beta,
         dc.as<float>(), N, sc, B, backend_stream());
  download(dc, c);
}

void DeviceBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                                   const Conv2dArgs& a) {
  if (!all_f32({&x, &w, &bias, &y})) return ref_.conv2d_forward(x, w, bias, y, a);
  ConvGeometry g = geometry(x, w, y, a);
  LETHE_CHECK(!bias.defined() || bias.numel() == g.o, LETHE_DEVICE_NAME, " backend conv2d: bias ",
              shape_str(bias.shape()), " for ", g.o, " channels");
  DeviceBuffer dx = upload(x), dw = upload(w), dbias = upload(bias), dy = output_buffer(y), work;
#if defined(LETHE_CUDA_HOST) && defined(LETHE_HAVE_CUDNN)
  if (gemm_path() == FastPath::Vendor) {
    ConvDescriptors d(g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, a);
    cudnn_conv_forward(d, dx.as<float>(), dw.as<float>(), dbias.as<float>(), dy.as<float>());
    return download(dy, y);
  }
#endif
  ConvExec e = conv_exec(gemm_path(), g, work);
  LETHE_KNS::conv2d_forward(dx.as<float>(), dw.as<float>(), dbias.as<float>(), dy.as<float>(), g, e,
                            backend_stream());
  download(dy, y);
}

void DeviceBackend::conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx,
                                          const Conv2dArgs& a) {
  if (!all_f32({&dy, &w, &dx})) return ref_.conv2d_backward_input(dy, w, dx, a);
  ConvGeometry g = geometry(dx, w, dy, a);
  DeviceBuffer ddy = upload(dy), dw = upload(w), ddx = output_buffer(dx), work;
#if defined(LETHE_CUDA_HOST) && defined(LETHE_HAVE_CUDNN)
  if (gemm_path() == FastPath::Vendor) {
    ConvDescriptors d(g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, a);
    cudnn_conv_backward_data(d, ddy.as<float>(), dw.as<float>(), ddx.as<float>());
    return download(ddx, dx);
  }
#endif
  ConvExec e = conv_exec(gemm_path(), g, work);
  LETHE_KNS::conv2d_backward_input(ddy.as<float>(), dw.as<float>(), ddx.as<float>(), g, e,
                                   backend_stream());
  download(ddx, dx);
}

void DeviceBackend::conv2d_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw,
                                           Tensor& db, const Conv2dArgs& a) {
  if (!all_f32({&dy, &x, &dw, &db})) return ref_.conv2d_backward_weight(dy, x, dw, db, a);
  ConvGeometry g = geometry(x, dw, dy, a);
  LETHE_CHECK(!db.defined() || db.numel() == g.o, LETHE_DEVICE_NAME,
              " backend conv2d backward: db ", shape_str(db.shape()), " for ", g.o, " channels");
  DeviceBuffer ddy = upload(dy), dx = upload(x), ddw = output_buffer(dw), ddb = output_buffer(db),
               work;
#if defined(LETHE_CUDA_HOST) && defined(LETHE_HAVE_CUDNN)
  if (gemm_path() == FastPath::Vendor) {
    ConvDescriptors d(g.n, g.c, g.h, g.w, g.o, g.kh, g.kw, a);
    cudnn_conv_backward_filter(d, ddy.as<float>(), dx.as<float>(), ddw.as<float>(),
                               ddb.as<float>());
    download(ddw, dw);
    return download(ddb, db);
  }
#endif
  ConvExec e = conv_exec(gemm_path(), g, work);
  LETHE_KNS::conv2d_backward_weight(ddy.as<float>(), dx.as<float>(), ddw.as<float>(),
                                    ddb.as<float>(), g, e, backend_stream());
  download(ddw, dw);
  download(ddb, db);
}

}  // namespace lethe::LETHE_KNS
