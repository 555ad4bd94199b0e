// F(2×2, 3×3) Winograd convolution; the design is in winograd.h. Matrices (Lavin & Gray 2016):
//   Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]
//   Aᵀ = [1 1 1 0; 0 1 −1 −1]
// Weight gradient: Y = Aᵀ (U ⊙ V) A gives ∂L/∂(U ⊙ V) = A dY Aᵀ per tile, so
// dU_ξ[O, C] = Σ_t dM_ξ[O, t] · V_ξ[C, t] (16 GEMMs with the tiles as the inner dimension) and
// dg = Gᵀ dU G, the transposes of the forward's output and filter transforms.
#include "kernels/cpu/winograd.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/winograd_blocked.h"

namespace lethe::kernels::cpu {
namespace {

constexpr int kXi = 16;  // transformed positions per tile

int64_t tiles_h(const Winograd3x3Geom& g) {
  return (g.OH + 1) / 2;
}
int64_t tiles_w(const Winograd3x3Geom& g) {
  return (g.OW + 1) / 2;
}

// Whole images per chunk of at most max_tiles tiles (at least one image).
int64_t images_per_chunk(const Winograd3x3Geom& g, int64_t max_tiles) {
  return std::clamp<int64_t>(max_tiles / std::max<int64_t>(tiles_h(g) * tiles_w(g), 1), 1,
                             std::max<int64_t>(g.N, 1));  // clamp's bounds must stay ordered
}

// U[ξ][o][c] = (G g Gᵀ)[ξ] for the effective filter g = w[o][c] (or its flipped transpose).
// Per output channel the nine taps are first gathered tap-major (f[k][c]), so both products run
// as unit-stride loops over c that vectorise and U is written in contiguous runs (the per-(o, c)
// scalar version took 2% of a resnet50 step). co: the blocked path's layout U[ξ][c][o]; the roles
// of o and c swap (per input channel, runs over o), so its stores stay contiguous too.
void transform_filters(const float* w, const Winograd3x3Geom& g, bool flip_transpose, bool co,
                       float* U) {
  const int64_t O = g.O, C = g.C;
  const int64_t P = co ? C : O, Q = co ? O : C;  // U[ξ][p][q]: p outer, q the contiguous run
#pragma omp parallel if (O * C > 4096 && !omp_in_parallel())
  {
    std::vector<float> buf(static_cast<size_t>(21 * Q));
    float* __restrict f = buf.data();          // f[k][q], k = 3i + j
    float* __restrict t = buf.data() + 9 * Q;  // (G f)[a][j][q]
#pragma omp for schedule(static)
    for (int64_t p = 0; p < P; ++p) {
      for (int64_t q = 0; q < Q; ++q) {
        const int64_t o = co ? q : p, c = co ? p : q;
        for (int k = 0; k < 9; ++k)  // flipped: w is [C][O][3][3], tap k read rotated by 180°
          f[k * Q + q] = flip_transpose ? w[(c * O + o) * 9 + (8 - k)] : w[(o * C + c) * 9 + k];
      }
      for (int j = 0; j < 3; ++j) {
        const float *f0 = f + j * Q, *f1 = f + (3 + j) * Q, *f2 = f + (6 + j) * Q;
        float *t0 = t + j * Q, *t1 = t + (3 + j) * Q, *t2 = t + (6 + j) * Q, *t3 = t + (9 + j) * Q;
        for (int64_t q = 0; q < Q; ++q) {
          t0[q] = f0[q];
          t1[q] = 0.5f * (f0[q] + f1[q] + f2[q]);
          t2[q] = 0.5f * (f0[q] - f1[q] + f2[q]);
          t3[q] = f2[q];
        }
      }
      for (int a = 0; a < 4; ++a) {  // (G f) Gᵀ
        const float *s0 = t + (a * 3) * Q, *s1 = t + (a * 3 + 1) * Q, *s2 = t + (a * 3 + 2) * Q;
        float* u0 = U + ((a * 4 + 0) * P + p) * Q;
        float* u1 = U + ((a * 4 + 1) * P + p) * Q;
        float* u2 = U + ((a * 4 + 2) * P + p) * Q;
        float* u3 = U + ((a * 4 + 3) * P + p) * Q;
        for (int64_t q = 0; q < Q; ++q) {
          u0[q] = s0[q];
          u1[q] = 0.5f * (s0[q] + s1[q] + s2[q]);
          u2[q] = 0.5f * (s0[q] - s1[q] + s2[q]);
          u3[q] = s2[q];
        }
      }
    }
  }
}

// Bᵀ down four rows d (row stride `width`) for every column at once: t[a][q], a = 0..3. Its own
// function so the restrict qualifiers let GCC vectorise it: inline, the buffers' possible overlap
// (both in one allocation) needed more alias checks than it versions and the loop stayed scalar.
void bt_columns(const float* __restrict d, int64_t width, float* __restrict t) {
  const float *d0 = d, *d1 = d + width, *d2 = d + 2 * width, *d3 = d + 3 * width;
  float *t0 = t, *t1 = t + width, *t2 = t + 2 * width, *t3 = t + 3 * width;
  for (int64_t q = 0; q < width; ++q) {
    t0[q] = d0[q] - d2[q];
    t1[q] = d1[q] + d2[q];
    t2[q] = d2[q] - d1[q];
    t3[q] = d1[q] - d3[q];
  }
}

// V[ξ][c][t] for the images [n0, n0 + count). Per (image, channel) the plane is copied into a
// zero-padded buffer (no bounds tests after that); per tile row Bᵀ is applied down its four rows
// for every column at once, then B across the columns for every tile of the row at once:
// unit-stride or stride-2 loops that the compiler vectorises.
void transform_inputs(const float* x, const Winograd3x3Geom& g, int64_t n0, int64_t count,
                      int64_t T, float* V) {
  const int64_t C = g.C, H = g.H, W = g.W, th = tiles_h(g), tw = tiles_w(g);
  const int64_t width = 2 * tw + 2;   // input columns the tiles of a row read
  const int64_t height = 2 * th + 2;  // input rows the tile rows read
#pragma omp parallel if (count * C * H * W > 16384 && !omp_in_parallel())
  {
    // The whole zero-padded plane once per (image, channel): each input row is copied once
    // (consecutive tile rows share two rows) and no tile row pays for small fills and copies.
    std::vector<float> buf(static_cast<size_t>(height * width + 4 * width), 0.0f);
    float* padded = buf.data();
    float* colt = buf.data() + height * width;  // Bᵀ applied down one tile row's four rows
    // Columns of a padded row that hold input: s = q + pad_w for q in [0, W).
    const int64_t s_lo = std::min<int64_t>(g.pad_w, width);
    const int64_t s_hi = std::clamp<int64_t>(W + g.pad_w, s_lo, width);
    // Rows of the padded plane that hold input: r = h + pad_h for h in [0, H).
    const int64_t r_lo = std::min<int64_t>(g.pad_h, height);
    const int64_t r_hi = std::clamp<int64_t>(H + g.pad_h, r_lo, height);
#pragma omp for collapse(2)
    for (int64_t i = 0; i < count; ++i)
      for (int64_t c = 0; c < C; ++c) {
        const float* plane = x + ((n0 + i) * C + c) * H * W;
        // Only the input part is rewritten: the zero border stays from the allocation.
        for (int64_t r = r_lo; r < r_hi; ++r) {
          const float* src = plane + (r - g.pad_h) * W + (s_lo - g.pad_w);
          float* dst = padded + r * width + s_lo;
          for (int64_t q = 0; q < s_hi - s_lo; ++q) dst[q] = src[q];
        }
        for (int64_t ti = 0; ti < th; ++ti) {
          bt_columns(padded + 2 * ti * width, width, colt);
          const int64_t t_row = (i * th + ti) * tw;
          for (int a = 0; a < 4; ++a) {
            const float* ta = colt + a * width;
            float* v0 = V + ((a * 4 + 0) * C + c) * T + t_row;
            float* v1 = V + ((a * 4 + 1) * C + c) * T + t_row;
            float* v2 = V + ((a * 4 + 2) * C + c) * T + t_row;
            float* v3 = V + ((a * 4 + 3) * C + c) * T + t_row;
            for (int64_t tj = 0; tj < tw; ++tj) {
              const float e0 = ta[2 * tj], e1 = ta[2 * tj + 1], e2 = ta[2 * tj + 2],
                          e3 = ta[2 * tj + 3];
              v0[tj] = e0 - e2;
              v1[tj] = e1 + e2;
              v2[tj] = e2 - e1;
              v3[tj] = e1 - e3;
            }
          }
        }
      }
  }
}

// y for the images [n0, n0 + count) from M[ξ][o][t]. Per tile row: Aᵀ down the four transformed
// rows for every tile at once, then A across, into a two-row buffer of 2·tiles_w columns that is
// copied to y's OW (drops the ragged column) — unit-stride loops again.
void transform_outputs(const float* M, const float* bias, const Winograd3x3Geom& g, int64_t n0,
                       int64_t count, int64_t T, float* y) {
  const int64_t O = g.O, OH = g.OH, OW = g.OW, th = tiles_h(g), tw = tiles_w(g);
#pragma omp parallel if (count * O * OH * OW > 16384 && !omp_in_parallel())
  {
    std::vector<float> buf(static_cast<size_t>(8 * tw + 4 * tw));
    float* r = buf.data();             // r[a·4 + b][tj]: (Aᵀ m) rows a = 0, 1 for columns b
    float* out = buf.data() + 8 * tw;  // two output rows of 2·tw
#pragma omp for collapse(2)
    for (int64_t i = 0; i < count; ++i)
      for (int64_t o = 0; o < O; ++o) {
        float* plane = y + ((n0 + i) * O + o) * OH * OW;
        const float b0 = bias ? bias[o] : 0.0f;
        for (int64_t ti = 0; ti < th; ++ti) {
          const int64_t t_row = (i * th + ti) * tw;
          for (int b = 0; b < 4; ++b) {
            const float* m0 = M + ((0 * 4 + b) * O + o) * T + t_row;
            const float* m1 = M + ((1 * 4 + b) * O + o) * T + t_row;
            const float* m2 = M + ((2 * 4 + b) * O + o) * T + t_row;
            const float* m3 = M + ((3 * 4 + b) * O + o) * T + t_row;
            float* ra = r + b * tw;
            float* rb = r + (4 + b) * tw;
            for (int64_t tj = 0; tj < tw; ++tj) {
              ra[tj] = m0[tj] + m1[tj] + m2[tj];
              rb[tj] = m1[tj] - m2[tj] - m3[tj];
            }
          }
          for (int a = 0; a < 2; ++a) {
            const float *q0 = r + (a * 4 + 0) * tw, *q1 = r + (a * 4 + 1) * tw,
                        *q2 = r + (a * 4 + 2) * tw, *q3 = r + (a * 4 + 3) * tw;
            float* row = out + a * 2 * tw;
            for (int64_t tj = 0; tj < tw; ++tj) {
              row[2 * tj] = q0[tj] + q1[tj] + q2[tj] + b0;
              row[2 * tj + 1] = q1[tj] - q2[tj] - q3[tj] + b0;
            }
          }
          for (int a = 0; a < 2 && 2 * ti + a < OH; ++a)
            std::copy(out + a * 2 * tw, out + a * 2 * tw + OW, plane + (2 * ti + a) * OW);
        }
      }
  }
}

// A = [1 0; 1 1; 1 −1; 0 −1] down two rows for every column at once: p[a][q], a = 0..3 (restrict
// for the vectoriser, as bt_columns).
void a_rows(const float* __restrict r0, const float* __restrict r1, int64_t width,
            float* __restrict p) {
  for (int64_t q = 0; q < width; ++q) {
    p[q] = r0[q];
    p[width + q] = r0[q] + r1[q];
    p[2 * width + q] = r0[q] - r1[q];
    p[3 * width + q] = -r1[q];
  }
}

// dM[ξ][o][t] = (A dY Aᵀ)[ξ] of every 2×2 tile of dy for the images [n0, n0 + count); tiles that
// hang over the ragged edge see zeros. Per tile row: the two dy rows into a zero-padded buffer of
// 2·tiles_w columns, A down them for all columns at once, then Aᵀ across per tile.
void transform_grad_outputs(const float* dy, const Winograd3x3Geom& g, int64_t n0, int64_t count,
                            int64_t T, float* dM) {
  const int64_t O = g.O, OH = g.OH, OW = g.OW, th = tiles_h(g), tw = tiles_w(g);
  const int64_t width = 2 * tw;
#pragma omp parallel if (count * O * OH * OW > 16384 && !omp_in_parallel())
  {
    std::vector<float> buf(static_cast<size_t>(6 * width), 0.0f);
    float *r0 = buf.data(), *r1 = r0 + width;  // the tile row's two dy rows, zero-padded
    float* p = r1 + width;                     // p[a]: row a of A·dY for every column
#pragma omp for collapse(2)
    for (int64_t i = 0; i < count; ++i)
      for (int64_t o = 0; o < O; ++o) {
        const float* plane = dy + ((n0 + i) * O + o) * OH * OW;
        for (int64_t ti = 0; ti < th; ++ti) {
          std::copy(plane + 2 * ti * OW, plane + 2 * ti * OW + OW, r0);
          if (2 * ti + 1 < OH)
            std::copy(plane + (2 * ti + 1) * OW, plane + (2 * ti + 2) * OW, r1);
          else
            std::fill(r1, r1 + OW, 0.0f);
          a_rows(r0, r1, width, p);
          const int64_t t_row = (i * th + ti) * tw;
          for (int a = 0; a < 4; ++a) {
            const float* pa = p + a * width;
            float* m0 = dM + ((a * 4 + 0) * O + o) * T + t_row;
            float* m1 = dM + ((a * 4 + 1) * O + o) * T + t_row;
            float* m2 = dM + ((a * 4 + 2) * O + o) * T + t_row;
            float* m3 = dM + ((a * 4 + 3) * O + o) * T + t_row;
            for (int64_t tj = 0; tj < tw; ++tj) {  // · Aᵀ = [1 1 1 0; 0 1 −1 −1]
              const float u = pa[2 * tj], v = pa[2 * tj + 1];
              m0[tj] = u;
              m1[tj] = u + v;
              m2[tj] = u - v;
              m3[tj] = -v;
            }
          }
        }
      }
  }
}

// dw[o][c] = Gᵀ dU[·][o][c] G (4×4 -> 3×3), Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1]. co: dU is the
// blocked path's dU[ξ][c][o].
void transform_filter_grads(const float* dU, const Winograd3x3Geom& g, bool co, float* dw) {
  const int64_t O = g.O, C = g.C;
#pragma omp parallel for collapse(2) if (O * C > 4096 && !omp_in_parallel())
  for (int64_t o = 0; o < O; ++o)
    for (int64_t c = 0; c < C; ++c) {
      float t[3][4];  // Gᵀ dU
      for (int b = 0; b < 4; ++b) {
        const int64_t oc = co ? c * O + o : o * C + c;  // (o, c) within one ξ
        const float d0 = dU[(0 * 4 + b) * O * C + oc], d1 = dU[(1 * 4 + b) * O * C + oc],
                    d2 = dU[(2 * 4 + b) * O * C + oc], d3 = dU[(3 * 4 + b) * O * C + oc];
        t[0][b] = d0 + 0.5f * (d1 + d2);
        t[1][b] = 0.5f * (d1 - d2);
        t[2][b] = 0.5f * (d1 + d2) + d3;
      }
      float* out = dw + (o * C + c) * 9;
      for (int i = 0; i < 3; ++i) {  // (Gᵀ dU) G
        out[i * 3 + 0] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
        out[i * 3 + 1] = 0.5f * (t[i][1] - t[i][2]);
        out[i * 3 + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
      }
    }
}

// The workspace cut into the filter-domain block [ξ][O][C] (U or dU) and one chunk's input and
// output blocks (V [ξ][C][T], M or dM [ξ][O][T]); the layout winograd_f2x3_workspace sizes.
struct Workspace {
  int64_t per_image, chunk;  // tiles per image, images per chunk
  float *filters, *inputs, *outputs;
};
Workspace carve(const Winograd3x3Geom& g, int64_t max_tiles, float* workspace) {
  Workspace w;
  w.per_image = tiles_h(g) * tiles_w(g);
  w.chunk = images_per_chunk(g, max_tiles);
  w.filters = workspace;
  w.inputs = w.filters + kXi * g.O * g.C;
  w.outputs = w.inputs + kXi * g.C * w.chunk * w.per_image;
  return w;
}

// Per-thread chunks (narrow layers): a chunk's V and M stay in a core's L2 (≤ kCacheFloats for
// both) while it goes through transform, 16 GEMMs and transform, instead of streaming tens of MiB
// through DRAM three times; the threads take whole chunks (one parallel region per call, no
// sync between the phases). Used when such a chunk still holds kMinCacheTiles tiles (the GEMMs'
// N; below it the 6×16 / 12×32 micro-kernels idle) and there is a chunk for every thread; wide
// layers (C + O ≳ 256) keep one big chunk whose 16 GEMMs are split over the threads.
constexpr int64_t kCacheFloats = int64_t(96) << 10;  // 384 KiB
constexpr int64_t kMinCacheTiles = 48;

// A chunk of `tiles` tiles is worth running per thread: enough tiles for the GEMMs, and V and M
// still near the L2 budget.
bool cache_sized(const Winograd3x3Geom& g, int64_t tiles) {
  return tiles >= kMinCacheTiles && kXi * (g.C + g.O) * tiles <= 2 * kCacheFloats;
}

int64_t cache_chunk_tiles(const Winograd3x3Geom& g) {
  const int64_t per_image = tiles_h(g) * tiles_w(g);
  const int64_t fit = kCacheFloats / (kXi * std::max<int64_t>(g.C + g.O, 1));
  return std::max(per_image, fit / per_image * per_image);
}

bool thread_chunks(const Winograd3x3Geom& g, int64_t max_tiles, int threads) {
  const int64_t per_image = tiles_h(g) * tiles_w(g);
  const int64_t chunk = images_per_chunk(g, max_tiles);
  return cache_sized(g, chunk * per_image) && (g.N + chunk - 1) / chunk >= threads;
}

int workspace_threads(const Winograd3x3Geom& g, int64_t max_tiles) {
  const int threads = std::max(1, omp_get_max_threads());
  return thread_chunks(g, max_tiles, threads) ? threads : 1;
}

// The two data layouts: the portable one (V[ξ][c][t], M[ξ][o][t], U[ξ][o][c]; transforms
// vectorised along tile rows) and, when the CPU path is AVX2 or wider and C and O are multiples of
// 8, the channel-blocked one (V[ξ][t][c], M[ξ][t][o], U[ξ][c][o]; winograd_blocked.h). Each
// transform and GEMM below takes the layout's own form; chunking and threading are shared.
struct Layout {
  const Winograd3x3Geom& g;
  bool blocked;

  explicit Layout(const Winograd3x3Geom& geom)
      : g(geom), blocked(gemm_isa() != GemmIsa::Scalar && geom.C % 8 == 0 && geom.O % 8 == 0) {}

  void filters(const float* w, bool flip_transpose, float* U) const {
    transform_filters(w, g, flip_transpose, blocked, U);
  }
  void inputs(const float* x, int64_t n0, int64_t count, int64_t T, float* V) const {
    if (blocked)
      detail::winograd_inputs_c8_avx2(x, g, n0, count, T, V);
    else
      transform_inputs(x, g, n0, count, T, V);
  }
  void outputs(const float* M, const float* bias, int64_t n0, int64_t count, int64_t T,
               float* y) const {
    if (blocked)
      detail::winograd_outputs_c8_avx2(M, bias, g, n0, count, T, y);
    else
      transform_outputs(M, bias, g, n0, count, T, y);
  }
  void grad_outputs(const float* dy, int64_t n0, int64_t count, int64_t T, float* dM) const {
    if (blocked)
      detail::winograd_grad_outputs_c8_avx2(dy, g, n0, count, T, dM);
    else
      transform_grad_outputs(dy, g, n0, count, T, dM);
  }
  // M_ξ = U_ξ · V_ξ over the chunk's T tiles (blocked: M_ξ[T, O] = V_ξ[T, C] · U_ξ[C, O]).
  void gemm(int xi, int64_t T, const float* U, const float* V, float* M) const {
    const int64_t O = g.O, C = g.C;
    if (blocked)
      sgemm(false, false, T, O, C, 1.0f, V + xi * T * C, C, U + xi * C * O, O, 0.0f, M + xi * T * O,
            O);
    else
      sgemm(false, false, O, T, C, 1.0f, U + xi * O * C, C, V + xi * C * T, T, 0.0f, M + xi * O * T,
            T);
  }
  // dU_ξ (+)= dM_ξ · V_ξᵀ over the tiles (blocked: dU_ξ[C, O] = V_ξ[T, C]ᵀ · dM_ξ[T, O]).
  void weight_gemm(int xi, int64_t T, const float* dM, const float* V, float beta,
                   float* dU) const {
    const int64_t O = g.O, C = g.C;
    if (blocked)
      sgemm(true, false, C, O, T, 1.0f, V + xi * T * C, C, dM + xi * T * O, O, beta,
            dU + xi * C * O, O);
    else
      sgemm(false, true, O, C, T, 1.0f, dM + xi * O * T, T, V + xi * C * T, T, beta,
            dU + xi * O * C, C);
  }
  void filter_grads(const float* dU, float* dw) const {
    transform_filter_grads(dU, g, blocked, dw);
  }
};

}  // namespace

int64_t winograd_f2x3_default_tiles(const Winograd3x3Geom& g) {
  const int64_t cached = cache_chunk_tiles(g);
  if (cache_sized(g, cached)) return cached;
  // V and M chunks together: 16·(C + O)·T floats ≤ 8 Mi floats (32 MiB); at least one image.
  const int64_t per_image = tiles_h(g) * tiles_w(g);
  const int64_t budget = (int64_t(8) << 20) / (kXi * std::max<int64_t>(g.C + g.O, 1));
  return std::max(per_image, budget / per_image * per_image);
}

bool winograd_f2x3_channel_blocked(const Winograd3x3Geom& g) {
  return Layout(g).blocked;
}

int64_t winograd_f2x3_workspace(const Winograd3x3Geom& g, int64_t max_tiles) {
  const int64_t T = images_per_chunk(g, max_tiles) * tiles_h(g) * tiles_w(g);
  const int threads = workspace_threads(g, max_tiles);
  // Filters: U (forward), or one dU per thread plus the sum (weight gradient).
  return kXi * g.O * g.C * (threads > 1 ? threads + 1 : 1) + threads * kXi * (g.C + g.O) * T;
}

int64_t winograd_f2x3_filter_floats(const Winograd3x3Geom& g) {
  return kXi * g.O * g.C;
}

void winograd_f2x3_filters(const float* w, const Winograd3x3Geom& g, bool flip_transpose,
                           float* filters) {
  Layout(g).filters(w, flip_transpose, filters);
}

void winograd_f2x3(const float* x, const float* w, const float* bias, float* y,
                   const Winograd3x3Geom& g, bool flip_transpose, int64_t max_tiles,
                   float* workspace, const float* filters) {
  const Workspace ws = carve(g, max_tiles, workspace);
  const Layout layout(g);
  const float* U = filters;
  float *V = ws.inputs, *M = ws.outputs;
  if (!U) {
    layout.filters(w, flip_transpose, ws.filters);
    U = ws.filters;
  }
  const int threads = omp_in_parallel() ? 1 : workspace_threads(g, max_tiles);
  if (threads > 1) {
    const int64_t slot = kXi * (g.C + g.O) * ws.chunk * ws.per_image;
    const int64_t chunks = (g.N + ws.chunk - 1) / ws.chunk;
#pragma omp parallel num_threads(threads)
    {
      float* Vt = V + omp_get_thread_num() * slot;
      float* Mt = Vt + kXi * g.C * ws.chunk * ws.per_image;
#pragma omp for schedule(static)
      for (int64_t k = 0; k < chunks; ++k) {
        const int64_t n0 = k * ws.chunk, count = std::min(ws.chunk, g.N - n0);
        const int64_t T = count * ws.per_image;
        layout.inputs(x, n0, count, T, Vt);
        for (int xi = 0; xi < kXi; ++xi) layout.gemm(xi, T, U, Vt, Mt);
        layout.outputs(Mt, bias, n0, count, T, y);
      }
    }
    return;
  }
  for (int64_t n0 = 0; n0 < g.N; n0 += ws.chunk) {
    const int64_t count = std::min(ws.chunk, g.N - n0), T = count * ws.per_image;
    layout.inputs(x, n0, count, T, V);
    // 16 independent GEMMs: one per thread at a time, each single-threaded (no inner sync).
#pragma omp parallel for schedule(dynamic) if (!omp_in_parallel())
    for (int xi = 0; xi < kXi; ++xi) layout.gemm(xi, T, U, V, M);
    layout.outputs(M, bias, n0, count, T, y);
  }
}

void winograd_f2x3_weight_grad(const float* x, const float* dy, float* dw, const Winograd3x3Geom& g,
                               int64_t max_tiles, float* workspace) {
  const Workspace ws = carve(g, max_tiles, workspace);
  const Layout layout(g);
  float *dU = ws.filters, *V = ws.inputs, *dM = ws.outputs;
  const int threads = omp_in_parallel() ? 1 : workspace_threads(g, max_tiles);
  if (threads > 1) {
    // Each thread sums its chunks' dU; the partial sums are added in thread order (deterministic
    // for a fixed thread count: static schedule).
    const int64_t filt = kXi * g.O * g.C;
    const int64_t slot = kXi * (g.C + g.O) * ws.chunk * ws.per_image;
    const int64_t chunks = (g.N + ws.chunk - 1) / ws.chunk;
    float* partial = V + threads * slot;  // threads × dU, after the per-thread slots
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num();
      float* Vt = V + t * slot;
      float* Mt = Vt + kXi * g.C * ws.chunk * ws.per_image;
      float* dUt = partial + t * filt;
      bool first = true;
#pragma omp for schedule(static)
      for (int64_t k = 0; k < chunks; ++k) {
        const int64_t n0 = k * ws.chunk, count = std::min(ws.chunk, g.N - n0);
        const int64_t T = count * ws.per_image;
        layout.inputs(x, n0, count, T, Vt);
        layout.grad_outputs(dy, n0, count, T, Mt);
        for (int xi = 0; xi < kXi; ++xi)
          layout.weight_gemm(xi, T, Mt, Vt, first ? 0.0f : 1.0f, dUt);
        first = false;
      }
      if (first) std::fill(dUt, dUt + filt, 0.0f);
#pragma omp barrier
      const int team = omp_get_num_threads();  // the partials written (the runtime may give less)
#pragma omp for schedule(static)
      for (int64_t i = 0; i < filt; ++i) {
        float s = partial[i];
        for (int u = 1; u < team; ++u) s += partial[u * filt + i];
        dU[i] = s;
      }
    }
    layout.filter_grads(dU, dw);
    return;
  }
  if (g.N == 0) std::fill(dU, dU + kXi * g.O * g.C, 0.0f);  // an empty batch: dw = 0
  for (int64_t n0 = 0; n0 < g.N; n0 += ws.chunk) {
    const int64_t count = std::min(ws.chunk, g.N - n0), T = count * ws.per_image;
    layout.inputs(x, n0, count, T, V);
    layout.grad_outputs(dy, n0, count, T, dM);
    const float beta = n0 == 0 ? 0.0f : 1.0f;  // later chunks accumulate
#pragma omp parallel for schedule(dynamic) if (!omp_in_parallel())
    for (int xi = 0; xi < kXi; ++xi) layout.weight_gemm(xi, T, dM, V, beta, dU);
  }
  layout.filter_grads(dU, dw);
}

}  // namespace lethe::kernels::cpu
