// Elementwise kernels: unary forward/backward, broadcasting binary, reduce_sum, strided copy.
// - unary / same-shape binary: grid-stride loops over float4 when every pointer is 16-byte
//   aligned (n/4 vectors, then a scalar tail of n%4), else scalar; one kernel per functor of
//   kernels/common/functors.h (the op switch is on the host, outside the kernel).
// - broadcasting binary and strided copy: dims of size 1 dropped and mergeable neighbours
//   collapsed on the host; a by-value descriptor (rank <= 8: shape, per-input strides) maps each
//   output index to input offsets, in 32-bit arithmetic when everything fits. A copy whose
//   unit-stride source dim is not the innermost (transpose/permute) goes through 32×32 shared
//   tiles instead, coalesced on both sides; one contiguous run is a device-to-device memcpy.
// - reduce_sum: dims collapsed into kept (K) and reduced (R) runs. Innermost reduced ("rows"):
//   a group of 32..blockDim threads per output (strided loads along the contiguous reduced run,
//   warp shuffles, per-warp partials in shared memory). Innermost kept ("columns"): a block covers
//   32 consecutive outputs with lanes along the contiguous kept dim (coalesced) and the warps
//   splitting the reduced index; partials transpose through a [32][33] shared tile and are
//   reduced with shuffles. Few outputs with a long reduction split over gridDim.y blocks and
//   finish with a second rows pass over the [nout, splits] partials.
#include <cstdint>
#include <cstring>

#include "kernels/cuda/elementwise.cuh"

namespace lethe::LETHE_KNS {
namespace {

// ---- unary ----
template <class F>
__global__ void unary_fwd_kernel(F f, const float* __restrict__ x, float* __restrict__ y, int64_t n,
                                 int vec) {
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t done = 0;
  if (vec) {
    const int64_t n4 = n / 4;
    const float4* x4 = reinterpret_cast<const float4*>(x);
    float4* y4 = reinterpret_cast<float4*>(y);
    for (int64_t i = tid; i < n4; i += step) {
      float4 v = x4[i];
      v.x = f.fwd(v.x);
      v.y = f.fwd(v.y);
      v.z = f.fwd(v.z);
      v.w = f.fwd(v.w);
      y4[i] = v;
    }
    done = n4 * 4;
  }
  for (int64_t i = done + tid; i < n; i += step) y[i] = f.fwd(x[i]);
}

__device__ __forceinline__ float4 load4_or_zero(const float* p, int64_t i) {
  return p ? reinterpret_cast<const float4*>(p)[i] : make_float4(0.f, 0.f, 0.f, 0.f);
}

template <class F>
__global__ void unary_bwd_kernel(F f, const float* __restrict__ x, const float* __restrict__ y,
                                 const float* __restrict__ dy, float* __restrict__ dx, int64_t n,
                                 int vec) {
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t done = 0;
  if (vec) {
    const int64_t n4 = n / 4;
    for (int64_t i = tid; i < n4; i += step) {
      float4 xv = load4_or_zero(x, i), yv = load4_or_zero(y, i);
      float4 g = reinterpret_cast<const float4*>(dy)[i];
      float4 r;
      r.x = f.bwd(xv.x, yv.x, g.x);
      r.y = f.bwd(xv.y, yv.y, g.y);
      r.z = f.bwd(xv.z, yv.z, g.z);
      r.w = f.bwd(xv.w, yv.w, g.w);
      reinterpret_cast<float4*>(dx)[i] = r;
    }
    done = n4 * 4;
  }
  for (int64_t i = done + tid; i < n; i += step)
    dx[i] = f.bwd(x ? x[i] : 0.f, y ? y[i] : 0.f, dy[i]);
}

// ---- binary ----
struct BcastDesc {
  int rank;
  int64_t shape[kElemMaxRank];
  int64_t sa[kElemMaxRank];
  int64_t sb[kElemMaxRank];
};

template <class F>
__global__ void binary_same_kernel(F f, const float* __restrict__ a, const float* __restrict__ b,
                                   float* __restrict__ c, int64_t n, int vec) {
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  int64_t done = 0;
  if (vec) {
    const int64_t n4 = n / 4;
    for (int64_t i = tid; i < n4; i += step) {
      float4 u = reinterpret_cast<const float4*>(a)[i];
      float4 v = reinterpret_cast<const float4*>(b)[i];
      float4 r;
      r.x = f(u.x, v.x);
      r.y = f(u.y, v.y);
      r.z = f(u.z, v.z);
      r.w = f(u.w, v.w);
      reinterpret_cast<float4*>(c)[i] = r;
    }
    done = n4 * 4;
  }
  for (int64_t i = done + tid; i < n; i += step) c[i] = f(a[i], b[i]);
}

// I: the index type (uint32_t when the output has fewer than 2^31 elements, else int64_t).
template <class F, class I>
__global__ void binary_bcast_kernel(F f, const float* __restrict__ a, const float* __restrict__ b,
                                    float* __restrict__ c, BcastDesc d, int64_t n) {
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = tid; i < n; i += step) {
    I rem = static_cast<I>(i), ia = 0, ib = 0;
    for (int k = d.rank - 1; k > 0; --k) {
      const I s = static_cast<I>(d.shape[k]);
      const I q = rem / s;
      const I idx = rem - q * s;
      rem = q;
      ia += idx * static_cast<I>(d.sa[k]);
      ib += idx * static_cast<I>(d.sb[k]);
    }
    ia += rem * static_cast<I>(d.sa[0]);
    ib += rem * static_cast<I>(d.sb[0]);
    c[i] = f(a[ia], b[ib]);
  }
}

// Drops size-1 dims and merges neighbours k, k+1 whose strides are contiguous for every
// operand (stride[k] == stride[k+1]·shape[k+1]; broadcast zeros merge with zeros).
// strides[j] is operand j's stride array; returns the new rank (>= 1).
int collapse_dims(int rank, int64_t* shape, int64_t* const* strides, int nops) {
  int out = 0;
  for (int k = 0; k < rank; ++k) {
    if (shape[k] == 1) continue;
    if (out > 0) {
      bool merge = true;
      for (int j = 0; j < nops; ++j)
        if (strides[j][out - 1] != strides[j][k] * shape[k]) merge = false;
      if (merge) {
        shape[out - 1] *= shape[k];
        for (int j = 0; j < nops; ++j) strides[j][out - 1] = strides[j][k];
        continue;
      }
    }
    shape[out] = shape[k];
    for (int j = 0; j < nops; ++j) strides[j][out] = strides[j][k];
    ++out;
  }
  if (out == 0) {
    shape[0] = 1;
    for (int j = 0; j < nops; ++j) strides[j][0] = 0;
    out = 1;
  }
  return out;
}

// ---- reduce_sum ----
struct ReduceDesc {
  int nk, nr;                                   // kept / reduced runs, outer to inner
  int64_t ks[kElemMaxRank], kst[kElemMaxRank];  // kept sizes and x strides
  int64_t rs[kElemMaxRank], rst[kElemMaxRank];  // reduced sizes and x strides
  int64_t nout, rcount;
};

// Offset of the row-major index idx over (shape, stride)[0..n); the outermost needs no division.
__device__ __forceinline__ int64_t offset_of(int64_t idx, int n, const int64_t* shape,
                                             const int64_t* stride) {
  int64_t off = 0;
  for (int k = n - 1; k > 0; --k) {
    const int64_t q = idx / shape[k];
    off += (idx - q * shape[k]) * stride[k];
    idx = q;
  }
  return n > 0 ? off + idx * stride[0] : 0;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Split s of gridDim.y covers reduced indices [r0, r1).
__device__ __forceinline__ void split_range(int64_t rcount, int64_t& r0, int64_t& r1) {
  const int64_t chunk = LETHE_CEIL_DIV(rcount, static_cast<int64_t>(gridDim.y));
  r0 = static_cast<int64_t>(blockIdx.y) * chunk;
  r1 = r0 + chunk < rcount ? r0 + chunk : rcount;
}

// Innermost dim reduced: `group` threads (a multiple of 32 dividing blockDim.x) per output.
// Writes out[o·gridDim.y + blockIdx.y]. Launched with up to 1024 threads: the bound keeps ptxas at
// ≤ 64 registers (it used 60 without it; more would fail a 1024-thread launch).
__global__ void __launch_bounds__(1024)
    reduce_rows_kernel(const float* __restrict__ x, float* __restrict__ out, ReduceDesc d,
                       int group) {
  LETHE_SHARED(float, warp_part, [32]);
  const int tid = static_cast<int>(threadIdx.x);
  const int g = tid / group, t = tid % group;
  const int groups = static_cast<int>(blockDim.x) / group;
  int64_t r0, r1;
  split_range(d.rcount, r0, r1);
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * groups; base < d.nout;
       base += static_cast<int64_t>(gridDim.x) * groups) {
    const int64_t o = base + g;
    float acc = 0.f;
    if (o < d.nout) {
      const int64_t xo = offset_of(o, d.nk, d.ks, d.kst);
      for (int64_t r = r0 + t; r < r1; r += group) acc += x[xo + offset_of(r, d.nr, d.rs, d.rst)];
    }
    acc = warp_sum(acc);
    if (group > 32) {
      if ((tid & 31) == 0) warp_part[tid >> 5] = acc;
      __syncthreads();
      if (t < 32) {  // the group's first warp reduces its group/32 partials
        const int wpg = group / 32;
        float v = t < wpg ? warp_part[g * wpg + t] : 0.f;
        v = warp_sum(v);
        if (t == 0 && o < d.nout) out[o * gridDim.y + blockIdx.y] = v;
      }
      __syncthreads();
    } else if (t == 0 && o < d.nout) {
      out[o * gridDim.y + blockIdx.y] = acc;
    }
  }
}

// Innermost dim kept: a block covers 32 consecutive outputs (lane = output, coalesced along the
// contiguous kept dim); its blockDim.x/32 warps stride over the reduced index.
__global__ void reduce_cols_kernel(const float* __restrict__ x, float* __restrict__ out,
                                   ReduceDesc d) {
  LETHE_SHARED(float, part, [32][33]);
  const int lane = static_cast<int>(threadIdx.x & 31), w = static_cast<int>(threadIdx.x >> 5);
  const int nw = static_cast<int>(blockDim.x >> 5);
  int64_t r0, r1;
  split_range(d.rcount, r0, r1);
  for (int64_t base = static_cast<int64_t>(blockIdx.x) * 32; base < d.nout;
       base += static_cast<int64_t>(gridDim.x) * 32) {
    const int64_t o = base + lane;
    float acc = 0.f;
    if (o < d.nout) {
      const int64_t xo = offset_of(o, d.nk, d.ks, d.kst);
      for (int64_t r = r0 + w; r < r1; r += nw) acc += x[xo + offset_of(r, d.nr, d.rs, d.rst)];
    }
    part[w][lane] = acc;
    __syncthreads();
    // Warp w finishes columns w, w+nw, ...: lane k holds warp k's partial of that column.
    for (int col = w; col < 32; col += nw) {
      float v = lane < nw ? part[lane][col] : 0.f;
      v = warp_sum(v);
      const int64_t oc = base + col;
      if (lane == 0 && oc < d.nout) out[oc * gridDim.y + blockIdx.y] = v;
    }
    __syncthreads();
  }
}

// ---- strided copy ----
struct StridedDesc {
  int rank;
  int64_t shape[kElemMaxRank];
  int64_t stride[kElemMaxRank];
};

template <class T, class I>
__global__ void copy_strided_kernel(const T* __restrict__ src, T* __restrict__ dst, StridedDesc d,
                                    int64_t offset, int64_t n) {
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const T* base = src + offset;
  for (int64_t i = tid; i < n; i += step) {
    I rem = static_cast<I>(i);
    int64_t off = 0;
    for (int k = d.rank - 1; k > 0; --k) {
      const I s = static_cast<I>(d.shape[k]);
      const I q = rem / s;
      off += static_cast<int64_t>(rem - q * s) * d.stride[k];
      rem = q;
    }
    off += static_cast<int64_t>(rem) * d.stride[0];
    dst[i] = base[off];
  }
}

// A view whose contiguous source dim J is not the output's innermost dim I (a transpose or
// permute): 32×32 tiles of the (J, I) plane through shared memory, so reads run along J and
// writes along I, both coalesced. blockDim = (32, ty); blockIdx.x/y tile I/J (grid-stride),
// blockIdx.z strides over the remaining (batch) dims. d holds the collapsed shape and source
// strides; dst_stride the output's row-major strides of the same dims.
template <class T>
__global__ void copy_transpose_kernel(const T* __restrict__ src, T* __restrict__ dst, StridedDesc d,
                                      StridedDesc dst_stride, int di, int dj, int64_t offset,
                                      int64_t batches) {
  LETHE_SHARED(T, tile, [32][33]);
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  const int rows = static_cast<int>(blockDim.y);
  const int64_t nI = d.shape[di], nJ = d.shape[dj];
  const int64_t sI = d.stride[di], oJ = dst_stride.stride[dj];
  for (int64_t b = blockIdx.z; b < batches; b += gridDim.z) {
    // Source and destination offsets of batch b over the dims other than I and J.
    int64_t rem = b, so = offset, doff = 0;
    for (int k = d.rank - 1; k >= 0; --k) {
      if (k == di || k == dj) continue;
      const int64_t q = rem / d.shape[k];
      const int64_t idx = rem - q * d.shape[k];
      rem = q;
      so += idx * d.stride[k];
      doff += idx * dst_stride.stride[k];
    }
    for (int64_t j0 = static_cast<int64_t>(blockIdx.y) * 32; j0 < nJ;
         j0 += static_cast<int64_t>(gridDim.y) * 32)
      for (int64_t i0 = static_cast<int64_t>(blockIdx.x) * 32; i0 < nI;
           i0 += static_cast<int64_t>(gridDim.x) * 32) {
        for (int r = ty; r < 32; r += rows) {  // read along J (source stride 1)
          const int64_t i = i0 + r, j = j0 + tx;
          if (i < nI && j < nJ) tile[r][tx] = src[so + i * sI + j];
        }
        __syncthreads();
        for (int r = ty; r < 32; r += rows) {  // write along I (destination stride 1)
          const int64_t j = j0 + r, i = i0 + tx;
          if (i < nI && j < nJ) dst[doff + j * oJ + i] = tile[tx][r];
        }
        __syncthreads();
      }
  }
}

template <class T>
void launch_copy(const void* src, void* dst, const StridedDesc& d, int64_t offset, int64_t n,
                 int threads, cudaStream_t stream) {
  const T* s = static_cast<const T*>(src);
  T* o = static_cast<T*>(dst);
  // Transpose-like: the source's unit-stride dim J is not the innermost I.
  const int di = d.rank - 1;
  int dj = -1;
  for (int k = 0; k < di; ++k)
    if (d.stride[k] == 1) dj = k;
  if (d.rank >= 2 && d.stride[di] != 1 && dj >= 0 && d.shape[di] >= 8 && d.shape[dj] >= 8) {
    StridedDesc ds{};
    ds.rank = d.rank;
    int64_t acc = 1;
    for (int k = d.rank - 1; k >= 0; --k) {
      ds.shape[k] = d.shape[k];
      ds.stride[k] = acc;
      acc *= d.shape[k];
    }
    const int64_t batches = n / (d.shape[di] * d.shape[dj]);
    const int rows = threads / 32 < 32 ? threads / 32 : 32;
    auto cap = [](int64_t v, int64_t mx) { return static_cast<unsigned>(v < mx ? v : mx); };
    dim3 grid(cap(LETHE_CEIL_DIV(d.shape[di], int64_t{32}), 65535),
              cap(LETHE_CEIL_DIV(d.shape[dj], int64_t{32}), 65535), cap(batches, 65535));
    auto k = copy_transpose_kernel<T>;
    LETHE_LAUNCH(k, grid, dim3(32, static_cast<unsigned>(rows)), 0, stream, s, o, d, ds, di, dj,
                 offset, batches);
    return;
  }
  const unsigned grid = grid_for(n, threads);
  if (n < (int64_t{1} << 31)) {
    auto k = copy_strided_kernel<T, uint32_t>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, s, o, d, offset, n);
  } else {
    auto k = copy_strided_kernel<T, int64_t>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, s, o, d, offset, n);
  }
}

}  // namespace

void elem_unary_f32(UnaryOp op, const UnaryParams& p, const float* x, float* y, int64_t n,
                    int threads, cudaStream_t stream) {
  check_threads(threads, "elem_unary_f32");
  if (n <= 0) return;
  const int vec = is_aligned(x, 16) && is_aligned(y, 16);
  const unsigned grid = grid_for(vec ? LETHE_CEIL_DIV(n, 4) : n, threads);
  with_unary(op, p, [&](auto f) {
    auto k = unary_fwd_kernel<decltype(f)>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, f, x, y, n, vec);
  });
}

void elem_unary_backward_f32(UnaryOp op, const UnaryParams& p, const float* x, const float* y,
                             const float* dy, float* dx, int64_t n, int threads,
                             cudaStream_t stream) {
  check_threads(threads, "elem_unary_backward_f32");
  if (n <= 0) return;
  const int vec =
      is_aligned(x, 16) && is_aligned(y, 16) && is_aligned(dy, 16) && is_aligned(dx, 16);
  const unsigned grid = grid_for(vec ? LETHE_CEIL_DIV(n, 4) : n, threads);
  with_unary(op, p, [&](auto f) {
    auto k = unary_bwd_kernel<decltype(f)>;
    LETHE_LAUNCH(k, grid, threads, 0, stream, f, x, y, dy, dx, n, vec);
  });
}

void elem_binary_f32(BinaryOp op, const float* a, const float* b, float* c, const int64_t* c_shape,
                     const int64_t* a_strides, const int64_t* b_strides, int rank, int threads,
                     cudaStream_t stream) {
  check_threads(threads, "elem_binary_f32");
  if (rank < 0 || rank > kElemMaxRank)
    throw std::runtime_error("elem_binary_f32: rank must be in [0, 8]");
  BcastDesc d{};
  int64_t n = 1;
  for (int k = 0; k < rank; ++k) {
    d.shape[k] = c_shape[k];
    d.sa[k] = a_strides[k];
    d.sb[k] = b_strides[k];
    n *= c_shape[k];
  }
  if (n <= 0) return;
  int64_t* st[2] = {d.sa, d.sb};
  d.rank = collapse_dims(rank, d.shape, st, 2);
  with_binary(op, [&](auto f) {
    using F = decltype(f);
    if (d.rank == 1 && d.sa[0] == 1 && d.sb[0] == 1) {  // same shape: flat, vectorized
      const int vec = is_aligned(a, 16) && is_aligned(b, 16) && is_aligned(c, 16);
      const unsigned grid = grid_for(vec ? LETHE_CEIL_DIV(n, 4) : n, threads);
      auto k = binary_same_kernel<F>;
      LETHE_LAUNCH(k, grid, threads, 0, stream, f, a, b, c, n, vec);
    } else if (n < (int64_t{1} << 31)) {
      auto k = binary_bcast_kernel<F, uint32_t>;
      LETHE_LAUNCH(k, grid_for(n, threads), threads, 0, stream, f, a, b, c, d, n);
    } else {
      auto k = binary_bcast_kernel<F, int64_t>;
      LETHE_LAUNCH(k, grid_for(n, threads), threads, 0, stream, f, a, b, c, d, n);
    }
  });
}

void elem_reduce_sum_f32(const float* x, float* y, const int64_t* x_shape, const int64_t* y_shape,
                         int rank, int threads, int splits, cudaStream_t stream) {
  check_threads(threads, "elem_reduce_sum_f32");
  if (rank < 0 || rank > kElemMaxRank)
    throw std::runtime_error("elem_reduce_sum_f32: rank must be in [0, 8]");
  // Runs of kept / reduced dims (size-1 dims of x dropped; x is contiguous, so neighbours of the
  // same kind always merge).
  ReduceDesc d{};
  int64_t shape[kElemMaxRank];
  bool red[kElemMaxRank];
  int m = 0;
  int64_t nout = 1, rcount = 1;
  for (int k = 0; k < rank; ++k) {
    if (y_shape[k] != 1 && y_shape[k] != x_shape[k])
      throw std::runtime_error("elem_reduce_sum_f32: y dim neither 1 nor x's");
    if (x_shape[k] == 1) continue;
    const bool r = y_shape[k] == 1;
    (r ? rcount : nout) *= x_shape[k];
    if (m > 0 && red[m - 1] == r) {
      shape[m - 1] *= x_shape[k];
    } else {
      shape[m] = x_shape[k];
      red[m] = r;
      ++m;
    }
  }
  if (nout == 0) return;
  if (rcount == 0) {
    LETHE_CUDA_CHECK(cudaMemsetAsync(y, 0, static_cast<size_t>(nout) * sizeof(float), stream));
    return;
  }
  int64_t stride = 1;
  int64_t stride_of[kElemMaxRank];
  for (int k = m - 1; k >= 0; --k) {
    stride_of[k] = stride;
    stride *= shape[k];
  }
  for (int k = 0; k < m; ++k) {
    if (red[k]) {
      d.rs[d.nr] = shape[k];
      d.rst[d.nr++] = stride_of[k];
    } else {
      d.ks[d.nk] = shape[k];
      d.kst[d.nk++] = stride_of[k];
    }
  }
  d.nout = nout;
  d.rcount = rcount;
  const bool rows = m > 0 && red[m - 1];
  // Few outputs and a long reduction: spread each output's reduction over s blocks.
  int64_t s = 1;
  if (splits > 1 && nout < 128 && rcount >= 4 * static_cast<int64_t>(threads)) {
    s = rcount / (2 * static_cast<int64_t>(threads));
    if (s > splits) s = splits;
    if (s > 65535) s = 65535;
  }
  float* partial = y;
  if (s > 1)
    LETHE_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&partial),
                                static_cast<size_t>(nout * s) * sizeof(float)));
  auto rows_group = [&](int64_t per_output) {
    // The largest multiple of 32 dividing `threads` that per_output can keep busy.
    int group = 32;
    for (int cand = 32; cand <= threads; cand += 32)
      if (threads % cand == 0 && (cand <= per_output || cand == 32)) group = cand;
    return group;
  };
  if (rows) {
    const int group = rows_group(LETHE_CEIL_DIV(rcount, s));
    dim3 grid(grid_for(nout, threads / group), static_cast<unsigned>(s));
    auto k = reduce_rows_kernel;
    LETHE_LAUNCH(k, grid, threads, 0, stream, x, partial, d, group);
  } else {
    dim3 grid(grid_for(nout, 32), static_cast<unsigned>(s));
    auto k = reduce_cols_kernel;
    LETHE_LAUNCH(k, grid, threads, 0, stream, x, partial, d);
  }
  if (s > 1) {
    ReduceDesc d2{};
    d2.nk = 1;
    d2.ks[0] = nout;
    d2.kst[0] = s;
    d2.nr = 1;
    d2.rs[0] = s;
    d2.rst[0] = 1;
    d2.nout = nout;
    d2.rcount = s;
    const int group = rows_group(s);
    auto k = reduce_rows_kernel;
    LETHE_LAUNCH(k, grid_for(nout, threads / group), threads, 0, stream, partial, y, d2, group);
    LETHE_CUDA_CHECK(cudaStreamSynchronize(stream));
    LETHE_CUDA_CHECK(cudaFree(partial));
  }
}

void elem_copy_strided(const void* src, void* dst, int elem_size, const int64_t* shape,
                       const int64_t* strides, int rank, int64_t offset, int threads,
                       cudaStream_t stream) {
  check_threads(threads, "elem_copy_strided");
  if (rank < 0 || rank > kElemMaxRank)
    throw std::runtime_error("elem_copy_strided: rank must be in [0, 8]");
  StridedDesc d{};
  int64_t n = 1;
  for (int k = 0; k < rank; ++k) {
    d.shape[k] = shape[k];
    d.stride[k] = strides[k];
    n *= shape[k];
  }
  if (n <= 0) return;
  int64_t* st[1] = {d.stride};
  d.rank = collapse_dims(rank, d.shape, st, 1);
  if (d.rank == 1 && (d.stride[0] == 1 || n == 1)) {  // one contiguous run
    LETHE_CUDA_CHECK(cudaMemcpyAsync(dst, static_cast<const char*>(src) + offset * elem_size,
                                     static_cast<size_t>(n) * elem_size, cudaMemcpyDeviceToDevice,
                                     stream));
    return;
  }
  switch (elem_size) {
    case 1:
      return launch_copy<uint8_t>(src, dst, d, offset, n, threads, stream);
    case 2:
      return launch_copy<uint16_t>(src, dst, d, offset, n, threads, stream);
    case 4:
      return launch_copy<uint32_t>(src, dst, d, offset, n, threads, stream);
    case 8:
      return launch_copy<unsigned long long>(src, dst, d, offset, n, threads, stream);
    default:
      throw std::runtime_error("elem_copy_strided: element size must be 1, 2, 4 or 8");
  }
}

}  // namespace lethe::LETHE_KNS
