// Elementwise CPU kernels (see elementwise.h). The loops are functions with restrict parameters,
// instantiated per functor: GCC vectorizes these (branch-free selects for relu/abs/clamp);
// written inside capturing lambdas the loops stayed scalar.
#include "kernels/cpu/elementwise.h"

#include <omp.h>

#include <cstring>
#include <vector>

#include "kernels/common/philox.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vmath.h"

namespace lethe::kernels::cpu {
namespace {

template <class F>
void map_unary(F f, const float* __restrict x, float* __restrict y, int64_t n) {
#pragma omp parallel for simd if (parallel : parallel_worth(n))
  for (int64_t i = 0; i < n; ++i) y[i] = f.fwd(x[i]);
}
template <class F>
void map_unary_backward(F f, const float* __restrict x, const float* __restrict y,
                        const float* __restrict dy, float* __restrict dx, int64_t n) {
#pragma omp parallel for simd if (parallel : parallel_worth(n))
  for (int64_t i = 0; i < n; ++i) dx[i] = f.bwd(x[i], y[i], dy[i]);
}
template <class F>
void map_binary(F f, const float* __restrict a, const float* __restrict b, float* __restrict c,
                int64_t n) {
#pragma omp parallel for simd if (parallel : parallel_worth(n))
  for (int64_t i = 0; i < n; ++i) c[i] = f(a[i], b[i]);
}

// Row r of the last dimension of `shape` → the offset of its first element under `strides`.
int64_t row_offset(int64_t r, const int64_t* shape, const int64_t* strides, int rank) {
  int64_t off = 0;
  for (int d = rank - 2; d >= 0; --d) {
    off += (r % shape[d]) * strides[d];
    r /= shape[d];
  }
  return off;
}

int64_t product(const int64_t* shape, int rank) {
  int64_t n = 1;
  for (int d = 0; d < rank; ++d) n *= shape[d];
  return n;
}

}  // namespace

void unary(UnaryOp op, const UnaryParams& p, const float* x, float* y, int64_t n) {
  if (op == UnaryOp::Gelu)  // vectorised erf (vmath.h); std::erf does not vectorise
    return parallel_chunks(n, [&](int64_t b, int64_t e) { gelu_forward(x + b, y + b, e - b); });
  with_unary(op, p, [&](auto f) { map_unary(f, x, y, n); });
}

void unary_backward(UnaryOp op, const UnaryParams& p, const float* x, const float* y,
                    const float* dy, float* dx, int64_t n) {
  if (op == UnaryOp::Gelu) {
    return parallel_chunks(
        n, [&](int64_t b, int64_t e) { gelu_backward(x + b, dy + b, dx + b, e - b); });
  }
  with_unary(op, p, [&](auto f) { map_unary_backward(f, x, y, dy, dx, n); });
}

void binary(BinaryOp op, const float* a, const float* b, float* c, int64_t n) {
  with_binary(op, [&](auto f) { map_binary(f, a, b, c, n); });
}

void binary_broadcast(BinaryOp op, const float* a, const float* b, float* c, const int64_t* c_shape,
                      const int64_t* a_strides, const int64_t* b_strides, int rank) {
  const int64_t n = product(c_shape, rank);
  // Rows of the last dimension; each row has a unit or zero stride in a and b.
  const int64_t inner = rank ? c_shape[rank - 1] : 1, rows = inner ? n / inner : 0;
  const int64_t ia_s = rank ? a_strides[rank - 1] : 0, ib_s = rank ? b_strides[rank - 1] : 0;
  with_binary(op, [&](auto f) {
#pragma omp parallel for if (parallel_worth(n))
    for (int64_t r = 0; r < rows; ++r) {
      int64_t rem = r, oa = 0, ob = 0;
      for (int d = rank - 2; d >= 0; --d) {
        const int64_t k = rem % c_shape[d];
        rem /= c_shape[d];
        oa += k * a_strides[d];
        ob += k * b_strides[d];
      }
      const float *ar = a + oa, *br = b + ob;
      float* cr = c + r * inner;
      for (int64_t i = 0; i < inner; ++i) cr[i] = f(ar[i * ia_s], br[i * ib_s]);
    }
  });
}

void reduce_sum(const float* x, float* y, const int64_t* x_shape, const int64_t* y_shape,
                int rank) {
  const int64_t n = product(x_shape, rank), m = product(y_shape, rank);
  if (rank == 0 || n == 0) {
    for (int64_t i = 0; i < m; ++i) y[i] = n ? x[i] : 0.f;
    return;
  }
  // y's contiguous strides, 0 along the reduced dimensions.
  std::vector<int64_t> yst(rank);
  for (int64_t d = rank - 1, s = 1; d >= 0; --d) {
    yst[d] = y_shape[d] != 1 ? s : 0;
    s *= y_shape[d];
  }
  const int64_t inner = x_shape[rank - 1], rows = n / inner;
  const bool inner_reduced = y_shape[rank - 1] == 1 && inner != 1;
  const int T = n > kParallelGrain ? nthreads() : 1;
  std::vector<double> part(static_cast<size_t>(T) * m, 0.0);
#pragma omp parallel num_threads(T) if (T > 1)
  {
    double* acc = part.data() + static_cast<size_t>(omp_get_thread_num()) * m;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t oy = row_offset(r, x_shape, yst.data(), rank);
      const float* xr = x + r * inner;
      if (inner_reduced) {
        float s = 0;
        for (int64_t i = 0; i < inner; ++i) s += xr[i];
        acc[oy] += s;
      } else {
        for (int64_t i = 0; i < inner; ++i) acc[oy + i] += xr[i];
      }
    }
  }
  for (int64_t i = 0; i < m; ++i) {
    double s = 0;
    for (int t = 0; t < T; ++t) s += part[static_cast<size_t>(t) * m + i];
    y[i] = static_cast<float>(s);
  }
}

void copy_strided(const float* src, float* dst, const int64_t* shape, const int64_t* strides,
                  int rank) {
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  const int64_t n = product(shape, rank);
  const int64_t inner = shape[rank - 1], rows = inner ? n / inner : 0, is = strides[rank - 1];
#pragma omp parallel for if (parallel_worth(n))
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = src + row_offset(r, shape, strides, rank);
    float* o = dst + r * inner;
    if (is == 1)
      std::memcpy(o, in, inner * sizeof(float));
    else
      for (int64_t i = 0; i < inner; ++i) o[i] = in[i * is];
  }
}

void dropout_forward(const float* x, float* y, uint8_t* mask, int64_t n, double p, uint64_t seed) {
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  const float pf = static_cast<float>(p);
#pragma omp parallel for if (parallel_worth(n))
  for (int64_t i = 0; i < n; ++i) {
    mask[i] = rng::uniform_at(seed, static_cast<uint64_t>(i)) >= pf ? 1 : 0;
    y[i] = mask[i] ? x[i] * scale : 0.f;
  }
}

void dropout_backward(const float* dy, const uint8_t* mask, float* dx, int64_t n, double p) {
  const float scale = static_cast<float>(1.0 / (1.0 - p));
#pragma omp parallel for simd if (parallel : parallel_worth(n))
  for (int64_t i = 0; i < n; ++i) dx[i] = mask[i] ? dy[i] * scale : 0.f;
}

void select(const uint8_t* mask, const float* a, const float* b, float* out, int64_t n) {
#pragma omp parallel for simd if (parallel : parallel_worth(n))
  for (int64_t i = 0; i < n; ++i) out[i] = mask[i] ? a[i] : b[i];
}

}  // namespace lethe::kernels::cpu
