// Layer norm over the last dimension D of x [R,D], float32; semantics of
// CpuRefBackend::layer_norm_*. Host-only declarations of the launchers in layernorm.cu.
// `threads` is the block size (a multiple of 32, 32…1024). row_mode picks who owns a row:
// kRowAuto (a warp when D ≤ 1024, else the block), kRowWarp, kRowBlock.
#pragma once
#include <cstdint>

#include "kernels/cuda/compat.h"

namespace lethe::LETHE_KNS {

constexpr int kRowAuto = 0, kRowWarp = 1, kRowBlock = 2;

// y, mean [R], rstd [R]. weight/bias [D] may be null.
void layernorm_forward(const float* x, const float* weight, const float* bias, float* y,
                       float* mean, float* rstd, int64_t R, int64_t D, float eps,
                       cudaStream_t stream, int threads = 256, int row_mode = kRowAuto);

// Row splits of the dweight/dbias reduction (0 = chosen from the shape) and the backward's
// workspace (floats: R for the rows' mean offsets δ, plus 2·splits·D when splits > 1).
int layernorm_resolve_splits(int64_t R, int64_t D, int threads, int splits);
int64_t layernorm_workspace_floats(int64_t R, int64_t D, int threads = 256, int splits = 0);
// dx [R,D], dweight/dbias [D]; each may be null.
void layernorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* rstd, float* dx, float* dweight, float* dbias, int64_t R,
                        int64_t D, float* workspace, cudaStream_t stream, int threads = 256,
                        int row_mode = kRowAuto, int splits = 0);

}  // namespace lethe::LETHE_KNS
