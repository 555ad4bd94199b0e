// 2-d pooling on [N,C,H,W] float32 planes (P = N·C), semantics of CpuRefBackend: max pool with
// the argmax flat index within the H·W plane (int64), average pool with count_include_pad (as
// PyTorch's default), adaptive average pool with PyTorch's start/end windows. Host-only
// declarations of the launchers in pool.cu; `threads`: block size, a multiple of 32 in
// [32, 1024]. Window arguments: kernel, stride, pad per axis.
#pragma once
#include <cstdint>

#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

void max_pool2d_forward(const float* x, float* y, int64_t* idx, int64_t P, int64_t H, int64_t W,
                        int64_t OH, int64_t OW, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                        int64_t ph, int64_t pw, cudaStream_t stream, int threads = 256);
// dx [P,H,W] is overwritten: zeroed, then each dy element added at its argmax.
void max_pool2d_backward(const float* dy, const int64_t* idx, float* dx, int64_t P, int64_t H,
                         int64_t W, int64_t OH, int64_t OW, cudaStream_t stream, int threads = 256);
void avg_pool2d_forward(const float* x, float* y, int64_t P, int64_t H, int64_t W, int64_t OH,
                        int64_t OW, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                        int64_t pw, cudaStream_t stream, int threads = 256);
void avg_pool2d_backward(const float* dy, float* dx, int64_t P, int64_t H, int64_t W, int64_t OH,
                         int64_t OW, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                         int64_t pw, cudaStream_t stream, int threads = 256);
void adaptive_avg_pool2d_forward(const float* x, float* y, int64_t P, int64_t H, int64_t W,
                                 int64_t OH, int64_t OW, cudaStream_t stream, int threads = 256);
void adaptive_avg_pool2d_backward(const float* dy, float* dx, int64_t P, int64_t H, int64_t W,
                                  int64_t OH, int64_t OW, cudaStream_t stream, int threads = 256);

}  // namespace lethe::LETHE_KNS
