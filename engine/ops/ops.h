// The functional API: every differentiable operation of the engine. Each op checks its
// arguments (a lethe::Error names the op, the shapes and the argument at fault), allocates its
// output, dispatches to current_backend(), and records its backward rule (engine/autograd).
// One file per op family in engine/ops/; the table in registry.h lists them all for the backend
// harness, the gradient checker and the benchmarks.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

#include "engine/autograd/autograd.h"
#include "engine/backend/backend.h"
#include "engine/core/tensor.h"

namespace lethe::ops {

// ---- shape and views (shape.cpp) ----
Tensor reshape(const Tensor& x, Shape shape);  // one -1 allowed; a view when possible
Tensor flatten(const Tensor& x, int64_t start_dim = 1);
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end);  // [start, end)
Tensor contiguous(const Tensor& x);
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
Tensor expand_to(const Tensor& x, const Shape& shape);  // broadcast copy
// Sums g down to `shape` (the reverse of broadcasting); used by binary ops' backward.
Tensor sum_to(const Tensor& g, const Shape& shape);
// Rows of x [N,...] at the given indices (i64 [K]) -> [K,...] (batch assembly, subsets).
Tensor index_select(const Tensor& x, const std::vector<int64_t>& rows);

// ---- elementwise (elementwise.cpp) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
// mask ? a : b elementwise; mask u8 of a's shape, a and b of one shape (no broadcasting). The
// gradient goes to a where the mask is set, to b elsewhere.
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);  // gradient zero
Tensor sqrt(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor square(const Tensor& x);
Tensor pow(const Tensor& x, double p);
Tensor clamp(const Tensor& x, double lo, double hi);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor reciprocal(const Tensor& x);

// ---- activations (activation.cpp) ----
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x);  // exact erf form
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);
// Inverted dropout with a Philox stream keyed by seed (identical on every backend).
Tensor dropout(const Tensor& x, double p, bool training, uint64_t seed);

// ---- reductions (reduce.cpp) ----
Tensor sum(const Tensor& x);  // all elements -> scalar
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor l1_norm(const Tensor& x);  // sum |x|, scalar
Tensor l2_norm(const Tensor& x);  // sqrt(sum x^2), scalar

// ---- linear algebra (matmul.cpp) ----
// 2-D × 2-D, or batched [..., M, K] × [..., K, N] with broadcast leading dimensions.
Tensor matmul(const Tensor& a, const Tensor& b);
// y = x wᵀ + b over the last axis of x (any leading dimensions). b may be undefined.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);

// ---- convolution and pooling (conv.cpp, pool.cpp) ----
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride = 1,
              int64_t padding = 0);
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0);
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding = 0);
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);

// ---- normalization (norm.cpp) ----
// x [N,C,...]. Training uses batch statistics and, when running_mean/var are given, updates
// them in place (momentum, unbiased variance) as PyTorch does; eval uses the running ones.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                  const Tensor& running_mean, const Tensor& running_var, bool training,
                  double momentum = 0.1, double eps = 1e-5);
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

// ---- losses (loss.cpp) ----
enum class Reduction { Mean, Sum, None };
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction r = Reduction::Mean,
                     double label_smoothing = 0.0);

// ---- attention (attention.cpp) ----
// Self-attention core over packed projections qkv [B,N,3C] (q | k | v, each heads × D columns):
// per head softmax(q kᵀ / √D) v, heads merged back -> [B,N,C].
Tensor attention(const Tensor& qkv, int64_t heads);
// timm Attention: qkv = x Wqkvᵀ + b -> (B,N,3,H,D); softmax(q kᵀ / sqrt(D)) v -> proj.
Tensor multi_head_attention(const Tensor& x, const Tensor& qkv_w, const Tensor& qkv_b,
                            const Tensor& proj_w, const Tensor& proj_b, int64_t heads);

}  // namespace lethe::ops
