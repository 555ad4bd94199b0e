// CPU convolution: im2col + packed GEMM (kernels/cpu), with images grouped side by side.
//
// Why groups: a GEMM per image has OH·OW columns, 16 for ResNet's last stage on 32×32 inputs. Such
// a product re-packs the whole weight matrix for a handful of columns, and the weight gradient's
// GEMM has K = OH·OW, so dW is read and written once per image. When OH·OW is small, G images are
// laid side by side (image i at column i·OH·OW of one [C·KH·KW, G·OH·OW] column matrix) so that
// each GEMM has at least `group_columns` columns, and GEMM's own threads split it.
// When OH·OW alone reaches that (large images), G = 1: one image per OpenMP thread, each with a
// single-threaded GEMM straight into y / dx (no gather or scatter).
//   forward:         cols_g = im2col(x_g);  Y_g[O, G·OHW] = W · cols_g;  y[n] = Y_g[:, block n] + b
//   backward-input:  dY_g = gather(dy);  dcols_g = Wᵀ · dY_g;  dx[n] = col2im(dcols_g[:, block n])
//   backward-weight: dW = Σ_g dY_g · cols_gᵀ (K = G·OHW), groups in order: deterministic.
// 1×1 stride-1 convolutions skip im2col (the columns are x itself; with G > 1, a copy).
// 3×3 stride-1 convolutions with ≥ 16 channels in and out go to Winograd F(2×2, 3×3)
// (kernels/cpu/winograd.h) for the forward and the backward-data product (which is a 3×3
// stride-1 convolution of dy with the flipped, transposed filters and padding 2 − p), and for
// the weight gradient (the transposed transforms; winograd_f2x3_weight_grad).
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "engine/backend/cpu/cpu.h"
#include "engine/backend/cpu/cpu_common.h"
#include "engine/backend/frozen_params.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/im2col.h"
#include "kernels/cpu/winograd.h"

namespace lethe {
namespace {

namespace kc = kernels::cpu;
using namespace cpu_detail;

// Columns per GEMM below which images are grouped. Measured with bench_conv (ResNet-50 shapes,
// batch 32, 2 threads, AVX2): grouping lifts the 4×4 stage from 44-48 to 59-68 GFLOP/s; at 8×8 it
// is even, and at 16×16 (G = 4 with a 1024 target) the gather/scatter cost 5-10%: 256 groups only
// images below 256 output pixels.
constexpr int64_t kDefaultGroupColumns = 256;
// The grouped column matrix is bounded (it is scratch, allocated per call): 64 MiB.
constexpr int64_t kMaxGroupFloats = int64_t(16) << 20;
std::atomic<int64_t> g_group_columns{kDefaultGroupColumns};
std::atomic<bool> g_winograd{true};

// Winograd pays when the transforms (per tile, per channel) are small next to the GEMMs (per
// tile, per channel pair): at 16 channels and up; the stem (3 channels in) stays im2col.
bool use_winograd(const kc::ConvGeometry& g, int64_t channels_in, int64_t channels_out) {
  return g_winograd.load(std::memory_order_relaxed) && g.kh == 3 && g.kw == 3 && g.stride_h == 1 &&
         g.stride_w == 1 && g.pad_h <= 2 && g.pad_w <= 2 && channels_in >= 16 && channels_out >= 16;
}

// The Winograd geometry of a 3×3 stride-1 convolution of x[N, C, H, W] into O channels, its
// default chunk and a workspace for it (shared by the forward, backward-data and weight gradient).
struct WinogradRun {
  kc::Winograd3x3Geom g;
  int64_t tiles;
  Tensor work;
};
WinogradRun winograd_run(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int64_t pad_h,
                         int64_t pad_w) {
  const kc::Winograd3x3Geom wg{N, C, H, W, O, pad_h, pad_w, H + 2 * pad_h - 2, W + 2 * pad_w - 2};
  const int64_t tiles = kc::winograd_f2x3_default_tiles(wg);
  return {wg, tiles, Tensor::empty({kc::winograd_f2x3_workspace(wg, tiles)})};
}

// conv3x3 stride 1 of x[N, C, H, W] into y[N, O, OH, OW] by Winograd. A frozen weight
// (engine/backend/frozen_params.h: attacks) is transformed once per form and layout.
void winograd_conv(const float* x, const float* w, const float* bias, float* y, int64_t N,
                   int64_t C, int64_t H, int64_t W, int64_t O, int64_t pad_h, int64_t pad_w,
                   bool flip_transpose) {
  WinogradRun r = winograd_run(N, C, H, W, O, pad_h, pad_w);
  const bool blocked = kc::winograd_f2x3_channel_blocked(r.g);
  const uint64_t key = (static_cast<uint64_t>(O) << 33) | (static_cast<uint64_t>(C) << 2) |
                       (flip_transpose ? 2u : 0u) | (blocked ? 1u : 0u);
  const float* U = frozen_derived(w, key, kc::winograd_f2x3_filter_floats(r.g), [&](float* u) {
    kc::winograd_f2x3_filters(w, r.g, flip_transpose, u);
  });
  kc::winograd_f2x3(x, w, bias, y, r.g, flip_transpose, r.tiles, mf(r.work), U);
}

// What every entry point derives from its tensors: x is input-shaped, y output-shaped.
struct ConvShape {
  kc::ConvGeometry g;
  int64_t N, O, CKK, OHW, CHW;
  bool pw;  // 1×1 stride 1, no padding: the columns are the input itself
};
ConvShape conv_shape(const Tensor& x, const Tensor& w, const Tensor& y, const Conv2dArgs& a) {
  ConvShape s;
  s.g = {x.size(0), x.size(1), x.size(2),  x.size(3),  w.size(0), w.size(2), w.size(3),
         y.size(2), y.size(3), a.stride_h, a.stride_w, a.pad_h,   a.pad_w};
  s.N = s.g.n;
  s.O = s.g.o;
  s.CKK = s.g.ckk();
  s.OHW = s.g.ohw();
  s.CHW = s.g.chw();
  s.pw = s.g.pointwise();
  return s;
}

// Images per GEMM for a convolution with CKK rows and OHW columns per image, N images.
int64_t group_size(const ConvShape& s) {
  const int64_t target = g_group_columns.load(std::memory_order_relaxed);
  int64_t G = std::clamp<int64_t>((target + s.OHW - 1) / std::max<int64_t>(s.OHW, 1), 1, s.N);
  const int64_t rows = std::max(s.CKK, int64_t(1));
  if (G > 1 && rows * s.OHW * G > kMaxGroupFloats)
    G = std::max<int64_t>(1, kMaxGroupFloats / (rows * s.OHW));
  return G;
}

// Copies `rows` rows of `len` floats of each of `images` images between layouts given by an image
// stride and a row stride on each side: per image (image stride CHW, rows len apart) ↔ grouped
// (image i at column i·len, rows ld apart).
void copy_image_rows(const float* src, int64_t src_image, int64_t src_row, float* dst,
                     int64_t dst_image, int64_t dst_row, int64_t images, int64_t rows,
                     int64_t len) {
#pragma omp parallel for collapse(2) if (images * rows * len > kParallelGrain && nthreads() > 1)
  for (int64_t i = 0; i < images; ++i)
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(dst + i * dst_image + r * dst_row, src + i * src_image + r * src_row,
                  len * sizeof(float));
}

// The column matrix of images [n0, n0 + gi) of x, image i at column i·OHW, rows ld apart.
void group_columns(const float* x, const ConvShape& s, int64_t n0, int64_t gi, int64_t ld,
                   float* cols) {
  if (s.pw) return copy_image_rows(x + n0 * s.CHW, s.CHW, s.OHW, cols, s.OHW, ld, gi, s.g.c, s.OHW);
#pragma omp parallel for if (gi * s.CKK * s.OHW > kParallelGrain && nthreads() > 1)
  for (int64_t i = 0; i < gi; ++i) kc::im2col(x + (n0 + i) * s.CHW, cols + i * s.OHW, s.g, ld);
}

// Narrow layers (small weights) with a group for every thread run each group whole on one thread
// — gather, single-threaded GEMM, scatter — in one parallel region per call: splitting every
// group's three steps over the threads cost three fork/joins per group, and with the yielding
// OpenMP wait each is a futex wake-up (the 16→32 stride-2 conv of the narrow ResNet-18 took 3×
// its bench time inside a training step). Wide layers keep the split GEMM: a whole-weight GEMM
// per thread would pack the weights once per thread.
constexpr int64_t kSmallWeights = int64_t(128) << 10;  // O·C·KH·KW floats (512 KiB)
int group_threads(const ConvShape& s, int64_t G) {
  const int T = nthreads();
  if (T <= 1 || s.O * s.CKK > kSmallWeights) return 1;
  return (s.N + G - 1) / G >= T ? T : 1;
}

// Calls f(t, n0, gi, ld) for every group of G images (n0 its first image, gi its size, ld = gi·OHW
// its column count); with T > 1 each of T threads takes whole groups and t names the thread's
// scratch slot (0 when T = 1).
template <class F>
void for_each_group(const ConvShape& s, int64_t G, int T, F f) {
  const int64_t groups = (s.N + G - 1) / G;
#pragma omp parallel num_threads(T) if (T > 1)
  {
    const int t = T > 1 ? omp_get_thread_num() : 0;
#pragma omp for schedule(static)
    for (int64_t k = 0; k < groups; ++k) {
      const int64_t n0 = k * G, gi = std::min(G, s.N - n0);
      f(t, n0, gi, gi * s.OHW);
    }
  }
}

// The columns of one image: the image itself for a pointwise convolution, else im2col into buf.
const float* image_columns(const float* xn, const ConvShape& s, float* buf) {
  if (s.pw) return xn;
  kc::im2col(xn, buf, s.g, s.OHW);
  return buf;
}

}  // namespace

void set_cpu_conv_winograd(bool enabled) {
  g_winograd.store(enabled, std::memory_order_relaxed);
}
bool cpu_conv_winograd() {
  return g_winograd.load(std::memory_order_relaxed);
}

void set_cpu_conv_group_columns(int64_t columns) {
  g_group_columns.store(columns > 0 ? columns : kDefaultGroupColumns, std::memory_order_relaxed);
}
int64_t cpu_conv_group_columns() {
  return g_group_columns.load(std::memory_order_relaxed);
}

void CpuBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                                const Conv2dArgs& a) {
  if (!f32(x)) return CpuRefBackend::conv2d_forward(x, w, bias, y, a);
  const ConvShape s = conv_shape(x, w, y, a);
  const kc::ConvGeometry& g = s.g;
  const int64_t N = s.N, O = s.O, CKK = s.CKK, OHW = s.OHW;
  const float *xp = cf(x), *wp = cf(w), *bp = cf(bias);
  float* yp = mf(y);
  if (use_winograd(g, g.c, O)) {
    return winograd_conv(xp, wp, bp, yp, N, g.c, g.h, g.w, O, g.pad_h, g.pad_w, false);
  }
  const int64_t G = group_size(s);

  if (G == 1) {
    const int T = std::max<int>(1, std::min<int64_t>(nthreads(), N));
    Tensor scratch = s.pw ? Tensor() : Tensor::empty({T, CKK * OHW});
#pragma omp parallel for num_threads(T) schedule(static) if (T > 1)
    for (int64_t n = 0; n < N; ++n) {
      float* yn = yp + n * O * OHW;
      const float* cols = image_columns(
          xp + n * s.CHW, s, s.pw ? nullptr : mf(scratch) + omp_get_thread_num() * CKK * OHW);
      if (bp) {
        for (int64_t o = 0; o < O; ++o) std::fill(yn + o * OHW, yn + (o + 1) * OHW, bp[o]);
      }
      kc::sgemm(false, false, O, OHW, CKK, 1.f, wp, CKK, cols, OHW, bp ? 1.f : 0.f, yn, OHW);
    }
    return;
  }

  // Per thread (one thread unless group_threads splits the groups): columns and GEMM output.
  const int T = group_threads(s, G);
  Tensor cols = Tensor::empty({T, CKK * G * OHW});
  Tensor out = Tensor::empty({T, O * G * OHW});
  for_each_group(s, G, T, [&](int t, int64_t n0, int64_t gi, int64_t ld) {
    float *colp = mf(cols) + t * CKK * G * OHW, *outp = mf(out) + t * O * G * OHW;
    group_columns(xp, s, n0, gi, ld, colp);
    kc::sgemm(false, false, O, ld, CKK, 1.f, wp, CKK, colp, ld, 0.f, outp, ld);
#pragma omp parallel for collapse(2) if (gi * O * OHW > kParallelGrain && nthreads() > 1)
    for (int64_t i = 0; i < gi; ++i)
      for (int64_t o = 0; o < O; ++o) {
        const float* src = outp + o * ld + i * OHW;
        float* dst = yp + ((n0 + i) * O + o) * OHW;
        const float b = bp ? bp[o] : 0.f;
        for (int64_t p = 0; p < OHW; ++p) dst[p] = src[p] + b;
      }
  });
}

void CpuBackend::conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx,
                                       const Conv2dArgs& a) {
  if (!f32(dy)) return CpuRefBackend::conv2d_backward_input(dy, w, dx, a);
  const ConvShape s = conv_shape(dx, w, dy, a);
  const kc::ConvGeometry& g = s.g;
  const int64_t N = s.N, O = s.O, CKK = s.CKK, OHW = s.OHW, CHW = s.CHW;
  const float *dyp = cf(dy), *wp = cf(w);
  float* dxp = mf(dx);
  if (use_winograd(g, O, g.c)) {  // dx = conv3x3(dy, rot180(W)ᵀ, pad 2 − p)
    return winograd_conv(dyp, wp, nullptr, dxp, N, O, g.oh, g.ow, g.c, 2 - g.pad_h, 2 - g.pad_w,
                         true);
  }
  const int64_t G = group_size(s);

  if (G == 1) {
    const int T = std::max<int>(1, std::min<int64_t>(nthreads(), N));
    Tensor scratch = s.pw ? Tensor() : Tensor::empty({T, CKK * OHW});
#pragma omp parallel for num_threads(T) schedule(static) if (T > 1)
    for (int64_t n = 0; n < N; ++n) {
      float* dxn = dxp + n * CHW;
      const float* dyn = dyp + n * O * OHW;
      if (s.pw) {  // dx[n] = Wᵀ · dy[n]
        kc::sgemm(true, false, CKK, OHW, O, 1.f, wp, CKK, dyn, OHW, 0.f, dxn, OHW);
        continue;
      }
      float* buf = mf(scratch) + static_cast<int64_t>(omp_get_thread_num()) * CKK * OHW;
      kc::sgemm(true, false, CKK, OHW, O, 1.f, wp, CKK, dyn, OHW, 0.f, buf, OHW);
      std::memset(dxn, 0, CHW * sizeof(float));
      kc::col2im_add(buf, dxn, g, OHW);
    }
    return;
  }

  const int T = group_threads(s, G);
  Tensor dyg = Tensor::empty({T, O * G * OHW});
  Tensor dcols = Tensor::empty({T, CKK * G * OHW});
  for_each_group(s, G, T, [&](int t, int64_t n0, int64_t gi, int64_t ld) {
    float *dygp = mf(dyg) + t * O * G * OHW, *dcolp = mf(dcols) + t * CKK * G * OHW;
    copy_image_rows(dyp + n0 * O * OHW, O * OHW, OHW, dygp, OHW, ld, gi, O, OHW);
    kc::sgemm(true, false, CKK, ld, O, 1.f, wp, CKK, dygp, ld, 0.f, dcolp, ld);
    if (s.pw) {  // the column matrix is dx itself, grouped
      copy_image_rows(dcolp, OHW, ld, dxp + n0 * CHW, CHW, OHW, gi, g.c, OHW);
      return;
    }
#pragma omp parallel for if (gi * CKK * OHW > kParallelGrain && nthreads() > 1)
    for (int64_t i = 0; i < gi; ++i) {
      float* dxn = dxp + (n0 + i) * CHW;
      std::memset(dxn, 0, CHW * sizeof(float));
      kc::col2im_add(dcolp + i * OHW, dxn, g, ld);
    }
  });
}

void CpuBackend::conv2d_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw, Tensor& db,
                                        const Conv2dArgs& a) {
  if (!f32(dy)) return CpuRefBackend::conv2d_backward_weight(dy, x, dw, db, a);
  const ConvShape s = conv_shape(x, dw, dy, a);
  const int64_t N = s.N, O = s.O, CKK = s.CKK, OHW = s.OHW;
  const float *dyp = cf(dy), *xp = cf(x);
  float* dwp = mf(dw);
  const int64_t G = group_size(s);

  if (use_winograd(s.g, s.g.c, O)) {
    WinogradRun r = winograd_run(N, s.g.c, s.g.h, s.g.w, O, s.g.pad_h, s.g.pad_w);
    kc::winograd_f2x3_weight_grad(xp, dyp, dwp, r.g, r.tiles, mf(r.work));
  } else if (G == 1) {
    const int T = std::max<int>(1, std::min<int64_t>(nthreads(), N));
    // Per-thread partial dW, summed at the end (deterministic for a fixed thread count).
    Tensor partial = Tensor::empty({T, O * CKK});
    Tensor scratch = s.pw ? Tensor() : Tensor::empty({T, CKK * OHW});
    int team = 1;  // the partials written (the runtime may give fewer threads than T)
#pragma omp parallel num_threads(T) if (T > 1)
    {
      const int t = omp_get_thread_num();
      if (t == 0) team = omp_get_num_threads();
      float* acc = mf(partial) + static_cast<int64_t>(t) * O * CKK;
      float* buf = s.pw ? nullptr : mf(scratch) + static_cast<int64_t>(t) * CKK * OHW;
      bool first = true;
#pragma omp for schedule(static)
      for (int64_t n = 0; n < N; ++n) {
        const float* cols = image_columns(xp + n * s.CHW, s, buf);
        kc::sgemm(false, true, O, CKK, OHW, 1.f, dyp + n * O * OHW, OHW, cols, OHW,
                  first ? 0.f : 1.f, acc, CKK);
        first = false;
      }
      if (first) std::memset(acc, 0, O * CKK * sizeof(float));
    }
    const float* pp = cf(partial);
    for (int64_t i = 0; i < O * CKK; ++i) {
      float s = 0;
      for (int t = 0; t < team; ++t) s += pp[t * O * CKK + i];
      dwp[i] = s;
    }
  } else if (const int T = group_threads(s, G); T > 1) {
    // Each thread sums its groups into its own dW; the partials are added in thread order
    // (deterministic for a fixed thread count: static schedule).
    Tensor dyg = Tensor::empty({T, O * G * OHW});
    Tensor cols = Tensor::empty({T, CKK * G * OHW});
    Tensor partial = Tensor::empty({T, O * CKK});
#pragma omp parallel num_threads(T)
    {
      const int t = omp_get_thread_num();
      float *dygp = mf(dyg) + t * O * G * OHW, *colp = mf(cols) + t * CKK * G * OHW;
      float* acc = mf(partial) + t * O * CKK;
      bool first = true;
      const int64_t groups = (N + G - 1) / G;
#pragma omp for schedule(static)
      for (int64_t k = 0; k < groups; ++k) {
        const int64_t n0 = k * G, gi = std::min(G, N - n0), ld = gi * OHW;
        copy_image_rows(dyp + n0 * O * OHW, O * OHW, OHW, dygp, OHW, ld, gi, O, OHW);
        group_columns(xp, s, n0, gi, ld, colp);
        kc::sgemm(false, true, O, CKK, ld, 1.f, dygp, ld, colp, ld, first ? 0.f : 1.f, acc, CKK);
        first = false;
      }
      if (first) std::memset(acc, 0, O * CKK * sizeof(float));
#pragma omp barrier
      const float* pp = cf(partial);
      const int team = omp_get_num_threads();  // the partials written (the runtime may give < T)
#pragma omp for schedule(static)
      for (int64_t i = 0; i < O * CKK; ++i) {
        float v = pp[i];
        for (int u = 1; u < team; ++u) v += pp[u * O * CKK + i];
        dwp[i] = v;
      }
    }
  } else {
    Tensor dyg = Tensor::empty({O, G * OHW});
    Tensor cols = Tensor::empty({CKK, G * OHW});
    float *dygp = mf(dyg), *colp = mf(cols);
    for (int64_t n0 = 0; n0 < N; n0 += G) {
      const int64_t gi = std::min(G, N - n0), ld = gi * OHW;
      copy_image_rows(dyp + n0 * O * OHW, O * OHW, OHW, dygp, OHW, ld, gi, O, OHW);
      group_columns(xp, s, n0, gi, ld, colp);
      kc::sgemm(false, true, O, CKK, ld, 1.f, dygp, ld, colp, ld, n0 == 0 ? 0.f : 1.f, dwp, CKK);
    }
  }

  if (db.defined()) {
    float* dbp = mf(db);
#pragma omp parallel for if (O * N * OHW > kParallelGrain && nthreads() > 1)
    for (int64_t o = 0; o < O; ++o) {
      double s = 0;
      for (int64_t n = 0; n < N; ++n) {
        const float* r = dyp + (n * O + o) * OHW;
        float rs = 0;
        for (int64_t i = 0; i < OHW; ++i) rs += r[i];
        s += rs;
      }
      dbp[o] = static_cast<float>(s);
    }
  }
}

}  // namespace lethe
