// The one dispatch point between ops and kernels. Every op in engine/ops computes its output
// shape, allocates, and calls exactly these entry points on the current backend; a backend is a
// full implementation of this interface. Tensors passed here are contiguous (ops ensure it)
// except where noted; outputs are preallocated by the caller.
//   cpu_ref: naive loops with double accumulation, f32 and f64 (the oracle; gradient checks
//            run it in f64).
//   cpu:     the fast backend (packed GEMM, OpenMP); f32 only, f64 calls go to cpu_ref.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/tensor.h"
#include "kernels/common/op_kinds.h"  // UnaryOp, BinaryOp, UnaryParams, Pool2dArgs

namespace lethe {

struct Conv2dArgs {
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

// One fused optimizer update (torch.optim semantics; the math is kernels/common/optim.h).
struct SgdStep {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, first = false;  // first: the momentum buffer's first step
};
struct AdamStep {
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  bool decoupled = false;  // AdamW
  int64_t t = 1;           // the parameter's step count, after incrementing
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // c[b] = op(a[b]) · op(b[b]) (+ c[b] when accumulate). a: [B,M,K] or [B,K,M] if ta;
  // b: [Bb,K,N] or [Bb,N,K] if tb with Bb ∈ {1, B} (1 broadcasts); c: [B,M,N].
  virtual void bmm(const Tensor& a, const Tensor& b, Tensor& c, bool ta, bool tb,
                   bool accumulate) = 0;

  // x [N,C,H,W], w [O,C,KH,KW], bias [O] or undefined, y [N,O,OH,OW].
  virtual void conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                              const Conv2dArgs& a) = 0;
  virtual void conv2d_backward_input(const Tensor& dy, const Tensor& w, Tensor& dx,
                                     const Conv2dArgs& a) = 0;
  // dw overwritten; db (undefined if no bias) overwritten.
  virtual void conv2d_backward_weight(const Tensor& dy, const Tensor& x, Tensor& dw, Tensor& db,
                                      const Conv2dArgs& a) = 0;

  // Batch norm over (N, H, W) per channel of x [N,C,H,W] (H·W may be 1).
  // Training: writes batch mean and biased variance, and y. weight/bias may be undefined.
  virtual void batch_norm_forward_train(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                        Tensor& y, Tensor& mean, Tensor& var, double eps) = 0;
  // Normalizes with given statistics (eval: running mean/var).
  virtual void batch_norm_forward_eval(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                       const Tensor& mean, const Tensor& var, Tensor& y,
                                       double eps) = 0;
  // training: statistics were the batch's (dx has the mean/var terms); else they were constants.
  // dx, dweight, dbias may be undefined (not needed).
  virtual void batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                   const Tensor& mean, const Tensor& var, double eps, bool training,
                                   Tensor& dx, Tensor& dweight, Tensor& dbias) = 0;

  // Layer norm over the last dimension D of x [R,D]; mean/rstd [R] are saved for backward.
  virtual void layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                  Tensor& y, Tensor& mean, Tensor& rstd, double eps) = 0;
  virtual void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                   const Tensor& mean, const Tensor& rstd, Tensor& dx,
                                   Tensor& dweight, Tensor& dbias) = 0;

  virtual void unary(UnaryOp op, const Tensor& x, Tensor& y, const UnaryParams& p) = 0;
  // dx = dy · f'(x) (y = f(x) is passed for ops whose derivative is cheaper from it).
  virtual void unary_backward(UnaryOp op, const Tensor& x, const Tensor& y, const Tensor& dy,
                              Tensor& dx, const UnaryParams& p) = 0;
  // c = a ∘ b with numpy broadcasting; a and b are contiguous in their own shapes, which are
  // right-aligned against c's shape (missing or size-1 dimensions broadcast).
  virtual void binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& c) = 0;
  // y = sum of x over the dimensions where y's shape is 1 and x's is not (same rank).
  virtual void reduce_sum(const Tensor& x, Tensor& y) = 0;
  // Contiguous copy of an arbitrary strided view (dtype preserved).
  virtual void copy(const Tensor& src, Tensor& dst) = 0;

  // Scaled dot-product self-attention over packed projections. For batch b and head h, q, k, v
  // are the D-column slices of qkv [B,N,3C] (C = heads·D) at columns h·D, C + h·D, 2C + h·D;
  // p[b,h] = softmax(scale · q kᵀ) into p [B,H,N,N]; o[b, :, h·D : (h+1)·D] = p[b,h] · v into
  // o [B,N,C]. The default (attention.cpp) composes bmm, softmax, unary Scale and strided copies,
  // so every backend has it; a backend may fuse (cpu does).
  virtual void attention_forward(const Tensor& qkv, int64_t heads, double scale, Tensor& o,
                                 Tensor& p);
  // dqkv [B,N,3C] (overwritten) from dout [B,N,C] and the forward's qkv and p.
  virtual void attention_backward(const Tensor& qkv, const Tensor& p, const Tensor& dout,
                                  int64_t heads, double scale, Tensor& dqkv);

  // Over the last dimension of x [R,C].
  virtual void softmax_forward(const Tensor& x, Tensor& y, bool log) = 0;
  virtual void softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, bool log) = 0;
  // Per-sample cross-entropy of logits [N,C] against targets [N] (i64), with label smoothing.
  virtual void cross_entropy_forward(const Tensor& logits, const Tensor& target, Tensor& loss,
                                     double smoothing) = 0;
  // dx[n] = dloss[n] · d loss_n / d logits_n.
  virtual void cross_entropy_backward(const Tensor& logits, const Tensor& target,
                                      const Tensor& dloss, Tensor& dx, double smoothing) = 0;

  // Pooling on [N,C,H,W]. max_pool writes the argmax flat index (within the H·W plane) in idx.
  virtual void max_pool2d_forward(const Tensor& x, Tensor& y, Tensor& idx, const Pool2dArgs& a) = 0;
  virtual void max_pool2d_backward(const Tensor& dy, const Tensor& idx, Tensor& dx) = 0;
  // count_include_pad semantics as PyTorch's default.
  virtual void avg_pool2d_forward(const Tensor& x, Tensor& y, const Pool2dArgs& a) = 0;
  virtual void avg_pool2d_backward(const Tensor& dy, Tensor& dx, const Pool2dArgs& a) = 0;
  virtual void adaptive_avg_pool2d_forward(const Tensor& x, Tensor& y) = 0;
  virtual void adaptive_avg_pool2d_backward(const Tensor& dy, Tensor& dx) = 0;

  // Inverted dropout: mask[i] = (u(seed, i) >= p), y = x · mask / (1 − p).
  virtual void dropout_forward(const Tensor& x, Tensor& y, Tensor& mask, double p,
                               uint64_t seed) = 0;
  virtual void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx, double p) = 0;
  // out = mask ? a : b elementwise (mask u8; a, b, out of one float dtype and one shape).
  virtual void select(const Tensor& mask, const Tensor& a, const Tensor& b, Tensor& out) = 0;

  // In-place optimizer updates of one parameter p with gradient g, all contiguous f32 of one
  // shape: buf is SGD's momentum buffer (undefined without momentum), m, v Adam's moments and
  // vmax amsgrad's maximum (undefined without amsgrad). The defaults run the CPU kernels
  // (kernels/cpu/optim.h); the device backends run kernels/cuda/optim.cu on device tensors.
  virtual void sgd_step(Tensor& p, const Tensor& g, Tensor& buf, const SgdStep& s);
  virtual void adam_step(Tensor& p, const Tensor& g, Tensor& m, Tensor& v, Tensor& vmax,
                         const AdamStep& s);
};

// The backend ops dispatch to, per thread. Defaults to "cpu".
Backend& current_backend();
Backend& backend_by_name(const std::string& name);  // "cpu_ref", "cpu"; throws on unknown
std::vector<std::string> backend_names();

// Selects a backend for the scope (tests compare backends by running ops under each).
class BackendGuard {
 public:
  explicit BackendGuard(const std::string& name);
  explicit BackendGuard(Backend& b);
  ~BackendGuard();
  BackendGuard(const BackendGuard&) = delete;
  BackendGuard& operator=(const BackendGuard&) = delete;

 private:
  Backend* prev_;
};

}  // namespace lethe
