// Runs a copy of im2col (kernels/cuda/conv.cu) whose padding bounds check was removed (see
// lethe_proof_copy in CMakeLists.txt), on a padded convolution: the copy reads outside the input
// buffer. Under AddressSanitizer that read is a heap-buffer-overflow report (ctest expects it);
// in other builds the emulator's guard bytes (NaN) land in the columns and this program prints
// "caught: ..." — and "NOT caught" if neither happened.
#include <cmath>
#include <cstdio>
#include <vector>

#define LETHE_KNS kemu_proof_bounds
#include "kernels/cuda/conv.cuh"

int main() {
  using namespace lethe::kemu_proof_bounds;
  ConvGeometry g{1, 2, 5, 5, 3, 3, 3, 5, 5, 1, 1, 1, 1};  // 3×3, pad 1: taps fall outside
  const int64_t rows = g.c * g.kh * g.kw, cols = g.oh * g.ow;
  std::vector<float> x(g.n * g.c * g.h * g.w, 1.0f), out(rows * cols);
  float *dx = nullptr, *dcols = nullptr;
  if (cudaMalloc(reinterpret_cast<void**>(&dx), x.size() * 4) != cudaSuccess ||
      cudaMalloc(reinterpret_cast<void**>(&dcols), out.size() * 4) != cudaSuccess)
    return 2;
  cudaMemcpy(dx, x.data(), x.size() * 4, cudaMemcpyHostToDevice);
  im2col(dx, dcols, 1, g, rows * cols, cols, nullptr, 64);
  cudaMemcpy(out.data(), dcols, out.size() * 4, cudaMemcpyDeviceToHost);
  // The intact kernel writes 1 where a tap is inside the image and 0 in the padding.
  int bad = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t p = 0; p < cols; ++p) {
      int64_t kh = r % (g.kh * g.kw) / g.kw, kw = r % g.kw;
      int64_t ih = p / g.ow * g.stride_h - g.pad_h + kh, iw = p % g.ow * g.stride_w - g.pad_w + kw;
      float want = (ih >= 0 && ih < g.h && iw >= 0 && iw < g.w) ? 1.0f : 0.0f;
      bad += !(out[r * cols + p] == want);
    }
  cudaFree(dx);
  cudaFree(dcols);
  if (bad) {
    std::printf(
        "caught: %d of %zu column entries differ from the intact kernel's (reads outside the "
        "input)\n",
        bad, out.size());
    return 0;
  }
  std::printf("NOT caught: the copy without bounds check produced a clean column matrix\n");
  return 1;
}
