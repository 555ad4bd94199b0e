// Channel-blocked Winograd F(2×2, 3×3) transforms in AVX2 (design: winograd_blocked.h).
// Each (image, block of 8 channels) is one unit of work: its 8 NCHW planes are transposed into a
// zero-padded interleaved plane P[row][col][8] (inputs) or read back out of one (outputs), and
// every tile is then pure vector arithmetic on 8 channels at once. Threads split the units when
// the call is not already inside a parallel region (the per-thread chunks of winograd.cpp are).
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/avx2_transpose.h"
#include "kernels/cpu/winograd_blocked.h"

namespace lethe::kernels::cpu::detail {
namespace {

int64_t tiles_of(int64_t n) {
  return (n + 1) / 2;
}

// Lanes [0, n) of a mask for the masked loads and stores (n ≤ 8).
__m256i first_lanes(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// P[(r0 + h)·width + s0 + w][k] = src[k·plane + h·W + w] for h < H, w < W: eight channel planes
// (plane floats apart) into an interleaved plane at row r0, column s0. The rest of P is untouched.
// A row's last W mod 8 columns go through masked loads (nothing past the row is read): the small
// planes of the deep layers (7, 4 columns) are all tail.
void interleave(const float* src, int64_t plane, int64_t H, int64_t W, int64_t r0, int64_t s0,
                int64_t width, float* P) {
  const int64_t rest = W % 8;
  const __m256i mask = first_lanes(rest);
  for (int64_t h = 0; h < H; ++h) {
    const float* s = src + h * W;
    float* d = P + ((r0 + h) * width + s0) * 8;
    int64_t w = 0;
    __m256 r[8];
    for (; w + 8 <= W; w += 8) {
      for (int k = 0; k < 8; ++k) r[k] = _mm256_loadu_ps(s + k * plane + w);
      transpose8(r);
      for (int k = 0; k < 8; ++k) _mm256_storeu_ps(d + (w + k) * 8, r[k]);
    }
    if (rest) {
      for (int k = 0; k < 8; ++k) r[k] = _mm256_maskload_ps(s + k * plane + w, mask);
      transpose8(r);
      for (int64_t k = 0; k < rest; ++k) _mm256_storeu_ps(d + (w + k) * 8, r[k]);
    }
  }
}

// The inverse for rows [0, H) and columns [0, W) of P (row stride width): dst[k·plane + h·W + w];
// the tail through masked stores.
void deinterleave(const float* P, int64_t width, int64_t H, int64_t W, int64_t plane, float* dst) {
  const int64_t rest = W % 8;
  const __m256i mask = first_lanes(rest);
  for (int64_t h = 0; h < H; ++h) {
    const float* s = P + h * width * 8;
    float* d = dst + h * W;
    int64_t w = 0;
    __m256 r[8];
    for (; w + 8 <= W; w += 8) {
      for (int k = 0; k < 8; ++k) r[k] = _mm256_loadu_ps(s + (w + k) * 8);
      transpose8(r);
      for (int k = 0; k < 8; ++k) _mm256_storeu_ps(d + k * plane + w, r[k]);
    }
    if (rest) {
      for (int k = 0; k < 8; ++k)
        r[k] = k < rest ? _mm256_loadu_ps(s + (w + k) * 8) : _mm256_setzero_ps();
      transpose8(r);
      for (int k = 0; k < 8; ++k) _mm256_maskstore_ps(d + k * plane + w, mask, r[k]);
    }
  }
}

}  // namespace

void winograd_inputs_c8_avx2(const float* x, const Winograd3x3Geom& g, int64_t n0, int64_t count,
                             int64_t T, float* V) {
  const int64_t C = g.C, th = tiles_of(g.OH), tw = tiles_of(g.OW);
  // The padded plane: the tiles read rows [0, 2·th + 2) and columns [0, 2·tw + 2), which cover
  // the input at offset (pad_h, pad_w) since 2·th ≥ OH = H + 2·pad_h − 2.
  const int64_t width = 2 * tw + 2, height = 2 * th + 2;
  const int64_t blocks = C / 8, plane = g.H * g.W;
#pragma omp parallel if (count * C * plane > 16384 && !omp_in_parallel())
  {
    std::vector<float> buf(static_cast<size_t>(height * width * 8 + 8), 0.0f);  // zero border
    float* P = buf.data();
#pragma omp for collapse(2) schedule(static)
    for (int64_t i = 0; i < count; ++i)
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t c0 = 8 * b;
        interleave(x + ((n0 + i) * C + c0) * plane, plane, g.H, g.W, g.pad_h, g.pad_w, width, P);
        for (int64_t ti = 0; ti < th; ++ti)
          for (int64_t tj = 0; tj < tw; ++tj) {
            const float* p = P + (2 * ti * width + 2 * tj) * 8;
            __m256 t[4][4];  // Bᵀ d: down the rows, per column
            for (int s = 0; s < 4; ++s) {
              const __m256 d0 = _mm256_loadu_ps(p + s * 8);
              const __m256 d1 = _mm256_loadu_ps(p + (width + s) * 8);
              const __m256 d2 = _mm256_loadu_ps(p + (2 * width + s) * 8);
              const __m256 d3 = _mm256_loadu_ps(p + (3 * width + s) * 8);
              t[0][s] = _mm256_sub_ps(d0, d2);
              t[1][s] = _mm256_add_ps(d1, d2);
              t[2][s] = _mm256_sub_ps(d2, d1);
              t[3][s] = _mm256_sub_ps(d1, d3);
            }
            const int64_t tile = (i * th + ti) * tw + tj;
            float* v = V + tile * C + c0;
            const int64_t xi_stride = T * C;
            for (int a = 0; a < 4; ++a) {  // (Bᵀ d) B: across the columns
              _mm256_storeu_ps(v + (4 * a + 0) * xi_stride, _mm256_sub_ps(t[a][0], t[a][2]));
              _mm256_storeu_ps(v + (4 * a + 1) * xi_stride, _mm256_add_ps(t[a][1], t[a][2]));
              _mm256_storeu_ps(v + (4 * a + 2) * xi_stride, _mm256_sub_ps(t[a][2], t[a][1]));
              _mm256_storeu_ps(v + (4 * a + 3) * xi_stride, _mm256_sub_ps(t[a][1], t[a][3]));
            }
          }
      }
  }
}

void winograd_outputs_c8_avx2(const float* M, const float* bias, const Winograd3x3Geom& g,
                              int64_t n0, int64_t count, int64_t T, float* y) {
  const int64_t O = g.O, th = tiles_of(g.OH), tw = tiles_of(g.OW);
  const int64_t width = 2 * tw, blocks = O / 8, plane = g.OH * g.OW;
#pragma omp parallel if (count * O * plane > 16384 && !omp_in_parallel())
  {
    std::vector<float> buf(static_cast<size_t>(2 * th * width * 8 + 8));
    float* P = buf.data();  // the image's 2·th × 2·tw outputs, 8 channels interleaved
#pragma omp for collapse(2) schedule(static)
    for (int64_t i = 0; i < count; ++i)
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t o0 = 8 * b;
        const __m256 bv = bias ? _mm256_loadu_ps(bias + o0) : _mm256_setzero_ps();
        const int64_t xi_stride = T * O;
        for (int64_t ti = 0; ti < th; ++ti)
          for (int64_t tj = 0; tj < tw; ++tj) {
            const float* m = M + ((i * th + ti) * tw + tj) * O + o0;
            __m256 r0[4], r1[4];  // Aᵀ m: rows 0 and 1, per column b
            for (int c = 0; c < 4; ++c) {
              const __m256 m0 = _mm256_loadu_ps(m + (0 + c) * xi_stride);
              const __m256 m1 = _mm256_loadu_ps(m + (4 + c) * xi_stride);
              const __m256 m2 = _mm256_loadu_ps(m + (8 + c) * xi_stride);
              const __m256 m3 = _mm256_loadu_ps(m + (12 + c) * xi_stride);
              r0[c] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
              r1[c] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
            }
            float* p = P + (2 * ti * width + 2 * tj) * 8;
            const __m256* rows[2] = {r0, r1};
            for (int a = 0; a < 2; ++a) {  // (Aᵀ m) A + bias
              const __m256* q = rows[a];
              const __m256 y0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(q[0], q[1]), q[2]), bv);
              const __m256 y1 = _mm256_add_ps(_mm256_sub_ps(_mm256_sub_ps(q[1], q[2]), q[3]), bv);
              _mm256_storeu_ps(p + a * width * 8, y0);
              _mm256_storeu_ps(p + (a * width + 1) * 8, y1);
            }
          }
        deinterleave(P, width, g.OH, g.OW, plane, y + ((n0 + i) * O + o0) * plane);
      }
  }
}

void winograd_grad_outputs_c8_avx2(const float* dy, const Winograd3x3Geom& g, int64_t n0,
                                   int64_t count, int64_t T, float* dM) {
  const int64_t O = g.O, th = tiles_of(g.OH), tw = tiles_of(g.OW);
  const int64_t width = 2 * tw, blocks = O / 8, plane = g.OH * g.OW;
#pragma omp parallel if (count * O * plane > 16384 && !omp_in_parallel())
  {
    // The ragged last row and column (odd OH or OW) stay zero: only [0, OH) × [0, OW) is written.
    std::vector<float> buf(static_cast<size_t>(2 * th * width * 8 + 8), 0.0f);
    float* P = buf.data();
#pragma omp for collapse(2) schedule(static)
    for (int64_t i = 0; i < count; ++i)
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t o0 = 8 * b;
        interleave(dy + ((n0 + i) * O + o0) * plane, plane, g.OH, g.OW, 0, 0, width, P);
        const int64_t xi_stride = T * O;
        for (int64_t ti = 0; ti < th; ++ti)
          for (int64_t tj = 0; tj < tw; ++tj) {
            const float* p = P + (2 * ti * width + 2 * tj) * 8;
            const __m256 y00 = _mm256_loadu_ps(p), y01 = _mm256_loadu_ps(p + 8);
            const __m256 y10 = _mm256_loadu_ps(p + width * 8);
            const __m256 y11 = _mm256_loadu_ps(p + (width + 1) * 8);
            // A dY: rows (y0, y0 + y1, y0 − y1, −y1) of the two columns u and v.
            const __m256 zero = _mm256_setzero_ps();
            const __m256 u[4] = {y00, _mm256_add_ps(y00, y10), _mm256_sub_ps(y00, y10),
                                 _mm256_sub_ps(zero, y10)};
            const __m256 v[4] = {y01, _mm256_add_ps(y01, y11), _mm256_sub_ps(y01, y11),
                                 _mm256_sub_ps(zero, y11)};
            float* m = dM + ((i * th + ti) * tw + tj) * O + o0;
            for (int a = 0; a < 4; ++a) {  // · Aᵀ: (u, u + v, u − v, −v)
              _mm256_storeu_ps(m + (4 * a + 0) * xi_stride, u[a]);
              _mm256_storeu_ps(m + (4 * a + 1) * xi_stride, _mm256_add_ps(u[a], v[a]));
              _mm256_storeu_ps(m + (4 * a + 2) * xi_stride, _mm256_sub_ps(u[a], v[a]));
              _mm256_storeu_ps(m + (4 * a + 3) * xi_stride, _mm256_sub_ps(zero, v[a]));
            }
          }
      }
  }
}

}  // namespace lethe::kernels::cpu::detail
