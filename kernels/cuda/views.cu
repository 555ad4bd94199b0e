// Strided view copy and fill: one grid-stride loop over the elements of the view's shape, each
// thread mapping its flat index to a source and a destination offset through a by-value
// descriptor (the shape and both stride vectors). Dims of size 1 are dropped on the host first.
// These serve the rare strided writes of device-resident tensors (concat, slice backward, fills);
// strided reads into a contiguous output go through elem_copy_strided (elementwise.cu), which
// tiles transposes.
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "kernels/cuda/views.cuh"

namespace lethe::LETHE_KNS {
namespace {

struct ViewDesc {
  int rank;
  int64_t shape[kViewMaxRank];
  int64_t src[kViewMaxRank];
  int64_t dst[kViewMaxRank];
};

template <class T>
__global__ void view_copy_kernel(const T* __restrict__ src, T* __restrict__ dst, ViewDesc d,
                                 int64_t src_offset, int64_t dst_offset, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t rem = i, so = src_offset, doff = dst_offset;
    for (int k = d.rank - 1; k >= 0; --k) {
      const int64_t idx = rem % d.shape[k];
      rem /= d.shape[k];
      so += idx * d.src[k];
      doff += idx * d.dst[k];
    }
    dst[doff] = src[so];
  }
}

template <class T>
__global__ void view_fill_kernel(T* __restrict__ dst, ViewDesc d, int64_t offset, T value,
                                 int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t rem = i, o = offset;
    for (int k = d.rank - 1; k >= 0; --k) {
      o += (rem % d.shape[k]) * d.dst[k];
      rem /= d.shape[k];
    }
    dst[o] = value;
  }
}

// The descriptor without dims of size 1; returns the element count.
int64_t describe(const int64_t* shape, const int64_t* src_strides, const int64_t* dst_strides,
                 int rank, ViewDesc& d) {
  if (rank < 0 || rank > kViewMaxRank)
    throw std::invalid_argument("view_copy/view_fill: rank must be in [0, 8]");
  d = ViewDesc{};
  int64_t n = 1;
  for (int k = 0; k < rank; ++k) {
    n *= shape[k];
    if (shape[k] == 1) continue;
    d.shape[d.rank] = shape[k];
    d.src[d.rank] = src_strides ? src_strides[k] : 0;
    d.dst[d.rank] = dst_strides[k];
    ++d.rank;
  }
  return n;
}

template <class T>
void launch_copy(const void* src, void* dst, const ViewDesc& d, int64_t so, int64_t doff, int64_t n,
                 int threads, cudaStream_t stream) {
  auto k = view_copy_kernel<T>;
  LETHE_LAUNCH(k, grid_for(n, threads), threads, 0, stream, static_cast<const T*>(src),
               static_cast<T*>(dst), d, so, doff, n);
}

template <class T>
void launch_fill(void* dst, const ViewDesc& d, int64_t offset, uint64_t bits, int64_t n,
                 int threads, cudaStream_t stream) {
  T value;
  std::memcpy(&value, &bits, sizeof(T));  // the low bytes (little-endian hosts and devices)
  auto k = view_fill_kernel<T>;
  LETHE_LAUNCH(k, grid_for(n, threads), threads, 0, stream, static_cast<T*>(dst), d, offset, value,
               n);
}

}  // namespace

void view_copy(const void* src, const int64_t* src_strides, int64_t src_offset, void* dst,
               const int64_t* dst_strides, int64_t dst_offset, const int64_t* shape, int rank,
               int elem_size, int threads, cudaStream_t stream) {
  check_threads(threads, "view_copy");
  ViewDesc d;
  const int64_t n = describe(shape, src_strides, dst_strides, rank, d);
  if (n <= 0) return;
  switch (elem_size) {
    case 1:
      return launch_copy<uint8_t>(src, dst, d, src_offset, dst_offset, n, threads, stream);
    case 2:
      return launch_copy<uint16_t>(src, dst, d, src_offset, dst_offset, n, threads, stream);
    case 4:
      return launch_copy<uint32_t>(src, dst, d, src_offset, dst_offset, n, threads, stream);
    case 8:
      return launch_copy<unsigned long long>(src, dst, d, src_offset, dst_offset, n, threads,
                                             stream);
    default:
      throw std::invalid_argument("view_copy: element size must be 1, 2, 4 or 8");
  }
}

void view_fill(void* dst, const int64_t* strides, int64_t offset, const int64_t* shape, int rank,
               int elem_size, uint64_t bits, int threads, cudaStream_t stream) {
  check_threads(threads, "view_fill");
  ViewDesc d;
  const int64_t n = describe(shape, nullptr, strides, rank, d);
  if (n <= 0) return;
  switch (elem_size) {
    case 1:
      return launch_fill<uint8_t>(dst, d, offset, bits, n, threads, stream);
    case 2:
      return launch_fill<uint16_t>(dst, d, offset, bits, n, threads, stream);
    case 4:
      return launch_fill<uint32_t>(dst, d, offset, bits, n, threads, stream);
    case 8:
      return launch_fill<unsigned long long>(dst, d, offset, bits, n, threads, stream);
    default:
      throw std::invalid_argument("view_fill: element size must be 1, 2, 4 or 8");
  }
}

}  // namespace lethe::LETHE_KNS
