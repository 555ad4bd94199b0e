// Batch norm over (N, S) per channel of x [N,C,S] (S = H·W, may be 1), float32; semantics of
// CpuRefBackend::batch_norm_*. Host-only declarations of the launchers in batchnorm.cu.
// `threads` is the block size (a multiple of 32, 32…1024); `splits` the number of blocks that
// share one channel's reduction (0 = chosen from the shape). The workspace is device memory of
// batchnorm_workspace_floats(...) floats for the same N, C, S, threads and splits.
#pragma once
#include <cstdint>

#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

int batchnorm_resolve_splits(int64_t N, int64_t C, int64_t S, int threads, int splits);
int64_t batchnorm_workspace_floats(int64_t N, int64_t C, int64_t S, int threads = 256,
                                   int splits = 0);

// Batch mean and biased variance into mean/var [C], then y. weight/bias may be null.
void batchnorm_forward_train(const float* x, const float* weight, const float* bias, float* y,
                             float* mean, float* var, int64_t N, int64_t C, int64_t S, float eps,
                             float* workspace, cudaStream_t stream, int threads = 256,
                             int splits = 0);
// y from the given statistics (running mean/var); its workspace is
// batchnorm_eval_workspace_floats(C) floats (per-channel coefficients only).
int64_t batchnorm_eval_workspace_floats(int64_t C);
void batchnorm_forward_eval(const float* x, const float* weight, const float* bias,
                            const float* mean, const float* var, float* y, int64_t N, int64_t C,
                            int64_t S, float eps, float* workspace, cudaStream_t stream,
                            int threads = 256);
// training: mean/var were the batch's (dx has their terms); else constants. dx, dweight, dbias
// may each be null.
void batchnorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* var, int64_t N, int64_t C, int64_t S, float eps, bool training,
                        float* dx, float* dweight, float* dbias, float* workspace,
                        cudaStream_t stream, int threads = 256, int splits = 0);

}  // namespace lethe::LETHE_KNS
