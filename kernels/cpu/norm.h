// Batch norm (per channel of x [N, C, S], S = H·W, may be 1) and layer norm (per row of x [R, D])
// on the CPU, float32; semantics of CpuRefBackend::batch_norm_* / layer_norm_*.
// Statistics: two passes accumulated in double, the mean, then Σ(x − mean)² — never
// E[x²] − E[x]², which cancels when |mean| ≫ σ (a channel at 1e4 ± 1 loses every digit of its
// variance in float). The output subtracts the mean split into two floats (hi + lo): x − hi is
// exact near the mean, so y keeps float precision even when |mean| ≫ σ; x·scale + (b − mean·scale)
// would not. The backward re-centres x̂ on the forward's double mean (the saved float mean is off
// it by δ = mean(x − saved mean)). Double sums run in 16 independent lanes so the loops vectorise
// without reassociation flags. Threads: channels (batch norm) or rows (layer norm); layer norm's
// dweight/dbias are per-thread partial sums added in thread order.
#pragma once
#include <cstdint>

namespace lethe::kernels::cpu {

// Batch mean and biased variance into mean/var [C], then y. weight/bias may be null.
void batchnorm_forward_train(const float* x, const float* weight, const float* bias, float* y,
                             float* mean, float* var, int64_t N, int64_t C, int64_t S, double eps);
// y from given statistics (eval: the running mean/var).
void batchnorm_forward_eval(const float* x, const float* weight, const float* bias,
                            const float* mean, const float* var, float* y, int64_t N, int64_t C,
                            int64_t S, double eps);
// training: mean/var were the batch's (dx has their terms); else constants. dx, dweight, dbias
// may each be null.
void batchnorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* var, int64_t N, int64_t C, int64_t S, double eps,
                        bool training, float* dx, float* dweight, float* dbias);

// y, mean [R], rstd [R]. weight/bias [D] may be null.
void layernorm_forward(const float* x, const float* weight, const float* bias, float* y,
                       float* mean, float* rstd, int64_t R, int64_t D, double eps);
// dx [R,D], dweight/dbias [D]; dx may be null.
void layernorm_backward(const float* dy, const float* x, const float* weight, const float* mean,
                        const float* rstd, float* dx, float* dweight, float* dbias, int64_t R,
                        int64_t D);

}  // namespace lethe::kernels::cpu
