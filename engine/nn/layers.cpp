// Layer constructors (PyTorch default initialization) and forwards (thin calls into engine/ops).
#include "engine/nn/layers.h"

#include <cmath>

#include "engine/dist/sync_batch_norm.h"
#include "engine/ops/ops.h"
#include "kernels/common/philox.h"

namespace lethe::nn {

namespace {
// nn.Linear / nn.Conv2d reset_parameters: kaiming_uniform_(a = sqrt(5)) gives
// U(±1/sqrt(fan_in)) for the weight; the bias is U(±1/sqrt(fan_in)) too.
void reset_affine(Tensor& weight, Tensor& bias, Generator& g) {
  kaiming_uniform_(weight, std::sqrt(5.0), FanMode::FanIn, Nonlinearity::LeakyRelu, g);
  if (bias.defined()) {
    int64_t fan_in = fan_in_and_fan_out(weight).first;
    double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    uniform_(bias, -bound, bound, g);
  }
}
}  // namespace

Linear::Linear(int64_t in, int64_t out, bool has_bias, Generator& g)
    : in_features(in), out_features(out) {
  LETHE_CHECK(in > 0 && out > 0, "Linear: features must be positive, got in ", in, ", out ", out);
  weight = register_parameter("weight", Tensor::empty({out, in}));
  if (has_bias) bias = register_parameter("bias", Tensor::empty({out}));
  reset_parameters(g);
}

void Linear::reset_parameters(Generator& g) {
  reset_affine(weight, bias, g);
}

Tensor Linear::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  return obs.done(ops::linear(x, weight, bias));
}

Conv2d::Conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride_, int64_t padding_,
               bool has_bias, Generator& g)
    : in_channels(in), out_channels(out), kernel_size(kernel), stride(stride_), padding(padding_) {
  LETHE_CHECK(in > 0 && out > 0 && kernel > 0 && stride_ > 0 && padding_ >= 0,
              "Conv2d: invalid arguments in ", in, ", out ", out, ", kernel ", kernel, ", stride ",
              stride_, ", padding ", padding_);
  weight = register_parameter("weight", Tensor::empty({out, in, kernel, kernel}));
  if (has_bias) bias = register_parameter("bias", Tensor::empty({out}));
  reset_parameters(g);
}

void Conv2d::reset_parameters(Generator& g) {
  reset_affine(weight, bias, g);
}

Tensor Conv2d::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  return obs.done(ops::conv2d(x, weight, bias, stride, padding));
}

BatchNorm2d::BatchNorm2d(int64_t channels, double eps_, double momentum_)
    : num_features(channels), eps(eps_), momentum(momentum_) {
  LETHE_CHECK(channels > 0, "BatchNorm2d: channels must be positive, got ", channels);
  weight = register_parameter("weight", Tensor::ones({channels}));
  bias = register_parameter("bias", Tensor::zeros({channels}));
  running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var = register_buffer("running_var", Tensor::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", Tensor::zeros({}, DType::I64));
}

void BatchNorm2d::reset_running_stats() {
  running_mean.fill_(0.0);
  running_var.fill_(1.0);
  num_batches_tracked.fill_(0.0);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  LETHE_CHECK(x.defined() && x.dim() >= 2 && x.size(1) == num_features, "BatchNorm2d(",
              num_features, "): input ", x.defined() ? shape_str(x.shape()) : "undefined",
              " does not have ", num_features, " channels");
  // In a data-parallel step with --sync-bn: the global batch's statistics (engine/dist).
  Tensor y =
      training_ && dist::sync_batch_norm_group()
          ? dist::sync_batch_norm(x, weight, bias, running_mean, running_var, momentum, eps)
          : ops::batch_norm(x, weight, bias, running_mean, running_var, training_, momentum, eps);
  if (training_) num_batches_tracked.data<int64_t>()[0] += 1;  // after the checks succeeded
  return obs.done(y);
}

LayerNorm::LayerNorm(int64_t dim, double eps_) : normalized_dim(dim), eps(eps_) {
  LETHE_CHECK(dim > 0, "LayerNorm: dimension must be positive, got ", dim);
  weight = register_parameter("weight", Tensor::ones({dim}));
  bias = register_parameter("bias", Tensor::zeros({dim}));
}

Tensor LayerNorm::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  return obs.done(ops::layer_norm(x, weight, bias, eps));
}

Tensor ReLU::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  return obs.done(ops::relu(x));
}

Tensor GELU::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  return obs.done(ops::gelu(x));
}

MaxPool2d::MaxPool2d(int64_t kernel, int64_t stride_, int64_t padding_)
    : kernel_size(kernel), stride(stride_ < 0 ? kernel : stride_), padding(padding_) {}

Tensor MaxPool2d::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  return obs.done(ops::max_pool2d(x, kernel_size, stride, padding));
}

AvgPool2d::AvgPool2d(int64_t kernel, int64_t stride_, int64_t padding_)
    : kernel_size(kernel), stride(stride_ < 0 ? kernel : stride_), padding(padding_) {}

Tensor AvgPool2d::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  return obs.done(ops::avg_pool2d(x, kernel_size, stride, padding));
}

AdaptiveAvgPool2d::AdaptiveAvgPool2d(int64_t oh, int64_t ow) : out_h(oh), out_w(ow) {}

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  return obs.done(ops::adaptive_avg_pool2d(x, out_h, out_w));
}

Tensor Flatten::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  return obs.done(ops::flatten(x, start_dim));
}

Dropout::Dropout(double p_, Generator& g) : p(p_), key_(g.next_key()) {
  LETHE_CHECK(p_ >= 0 && p_ < 1, "Dropout: p must be in [0, 1), got ", p_);
}

Tensor Dropout::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  if (!training_ || p == 0) return obs.done(x);
  // One Philox block per forward: the mask stream of call c is a hash of (key, c).
  rng::Philox4 r = rng::philox4x32(calls_++, key_);
  uint64_t seed = (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
  return obs.done(ops::dropout(x, p, true, seed));
}

MultiHeadSelfAttention::MultiHeadSelfAttention(int64_t dim_, int64_t heads_, bool qkv_bias,
                                               Generator& g)
    : dim(dim_), heads(heads_) {
  LETHE_CHECK(dim_ > 0 && heads_ > 0 && dim_ % heads_ == 0, "MultiHeadSelfAttention: dim ", dim_,
              " must be a positive multiple of heads ", heads_);
  qkv = register_module("qkv", std::make_shared<Linear>(dim_, 3 * dim_, qkv_bias, g));
  proj = register_module("proj", std::make_shared<Linear>(dim_, dim_, true, g));
}

Tensor MultiHeadSelfAttention::forward(const Tensor& x) {
  ObservedForward obs(*this, x);
  return obs.done(
      ops::multi_head_attention(x, qkv->weight, qkv->bias, proj->weight, proj->bias, heads));
}

}  // namespace lethe::nn
