// Softmax / log-softmax over the last dimension of [R,C] and the fused per-sample cross-entropy
// with label smoothing, float32; semantics of CpuRefBackend. Host-only declarations of the
// launchers in softmax.cu. `threads`: block size, a multiple of 32 in [32, 1024]. row_mode (as
// in layernorm.cuh): kSmRowAuto (a warp per row when C ≤ 1024, else a block), kSmRowWarp,
// kSmRowBlock.
#pragma once
#include <cstdint>

#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

constexpr int kSmRowAuto = 0, kSmRowWarp = 1, kSmRowBlock = 2;

void softmax_forward(const float* x, float* y, int64_t R, int64_t C, bool log, cudaStream_t stream,
                     int threads = 256, int row_mode = kSmRowAuto);
// y is the forward output (softmax, or log-softmax when log).
void softmax_backward(const float* y, const float* dy, float* dx, int64_t R, int64_t C, bool log,
                      cudaStream_t stream, int threads = 256, int row_mode = kSmRowAuto);
// loss[n] = −(1−s)·lsm[n][t_n] − s/C·Σ_c lsm[n][c]; a target outside [0, C) gives NaN.
void cross_entropy_forward(const float* logits, const int64_t* target, float* loss, int64_t N,
                           int64_t C, float smoothing, cudaStream_t stream, int threads = 256,
                           int row_mode = kSmRowAuto);
// dx[n][c] = dloss[n]·(softmax[n][c] − ((c == t_n)·(1−s) + s/C)).
void cross_entropy_backward(const float* logits, const int64_t* target, const float* dloss,
                            float* dx, int64_t N, int64_t C, float smoothing, cudaStream_t stream,
                            int threads = 256, int row_mode = kSmRowAuto);

}  // namespace lethe::LETHE_KNS
