// Generator and initializers; fills go through Tensor::uniform / Tensor::randn keyed by a fresh
// stream so that they match the engine's other random fills exactly.
#include "engine/nn/init.h"

#include <algorithm>
#include <cmath>

#include "kernels/common/philox.h"

namespace lethe::nn {

uint64_t Generator::next_key() {
  rng::Philox4 r = rng::philox4x32(counter_++, seed_);
  return (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
}

double Generator::next_uniform() {
  uint64_t k = next_key();
  return static_cast<double>(k >> 11) * (1.0 / 9007199254740992.0);
}

Generator& default_generator() {
  static Generator g;
  return g;
}

void manual_seed(uint64_t seed) {
  default_generator().manual_seed(seed);
}

namespace {
void check_fillable(const Tensor& t, const char* what) {
  LETHE_CHECK(t.defined(), "init: ", what, " on an undefined tensor");
  LETHE_CHECK(is_floating(t.dtype()), "init: ", what, " needs a float tensor, got ",
              dtype_name(t.dtype()));
}

// Writes a contiguous f64 tensor into t (fast path for contiguous f32/f64 targets).
void store(Tensor& t, const Tensor& z) {
  if (t.is_contiguous() && t.dtype() == DType::F32) {
    float* q = t.data<float>();
    const double* p = z.data<double>();
    for (int64_t i = 0; i < z.numel(); ++i) q[i] = static_cast<float>(p[i]);
  } else {
    t.copy_(z);
  }
}

double fan_for(const Tensor& t, FanMode mode) {
  auto [fan_in, fan_out] = fan_in_and_fan_out(t);
  int64_t fan = mode == FanMode::FanIn ? fan_in : fan_out;
  LETHE_CHECK(fan > 0, "init: zero fan for tensor of shape ", shape_str(t.shape()));
  return static_cast<double>(fan);
}
}  // namespace

std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t) {
  LETHE_CHECK(t.defined() && t.dim() >= 2,
              "init: fan in and fan out need a tensor with at least 2 dimensions, got ",
              t.defined() ? shape_str(t.shape()) : "undefined");
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

double calculate_gain(Nonlinearity nl, double param) {
  switch (nl) {
    case Nonlinearity::Linear:
    case Nonlinearity::Conv:
    case Nonlinearity::Sigmoid:
      return 1.0;
    case Nonlinearity::Tanh:
      return 5.0 / 3.0;
    case Nonlinearity::Relu:
      return std::sqrt(2.0);
    case Nonlinearity::LeakyRelu:
      return std::sqrt(2.0 / (1.0 + param * param));
    case Nonlinearity::Selu:
      return 3.0 / 4.0;
  }
  return 1.0;
}

void constant_(Tensor& t, double value) {
  LETHE_CHECK(t.defined(), "init: constant_ on an undefined tensor");
  t.fill_(value);
}
void zeros_(Tensor& t) {
  constant_(t, 0.0);
}
void ones_(Tensor& t) {
  constant_(t, 1.0);
}

void uniform_(Tensor& t, double lo, double hi, Generator& g) {
  check_fillable(t, "uniform_");
  store(t, Tensor::uniform(t.shape(), lo, hi, g.next_key(), DType::F64));
}

void normal_(Tensor& t, double mean, double std, Generator& g) {
  check_fillable(t, "normal_");
  Tensor z = Tensor::randn(t.shape(), g.next_key(), DType::F64);
  double* p = z.data<double>();
  for (int64_t i = 0; i < z.numel(); ++i) p[i] = mean + std * p[i];
  store(t, z);
}

void kaiming_uniform_(Tensor& t, double a, FanMode mode, Nonlinearity nl, Generator& g) {
  double std = calculate_gain(nl, a) / std::sqrt(fan_for(t, mode));
  double bound = std::sqrt(3.0) * std;
  uniform_(t, -bound, bound, g);
}

void kaiming_normal_(Tensor& t, double a, FanMode mode, Nonlinearity nl, Generator& g) {
  double std = calculate_gain(nl, a) / std::sqrt(fan_for(t, mode));
  normal_(t, 0.0, std, g);
}

void xavier_uniform_(Tensor& t, double gain, Generator& g) {
  auto [fan_in, fan_out] = fan_in_and_fan_out(t);
  double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  double bound = std::sqrt(3.0) * std;
  uniform_(t, -bound, bound, g);
}

void trunc_normal_(Tensor& t, double mean, double std, double a, double b, Generator& g) {
  check_fillable(t, "trunc_normal_");
  LETHE_CHECK(a < b, "init: trunc_normal_ needs a < b, got [", a, ", ", b, "]");
  uint64_t key = g.next_key();
  uint64_t n = static_cast<uint64_t>(t.numel());
  Tensor z = Tensor::empty(t.shape(), DType::F64);
  double* p = z.data<double>();
  // Element i draws normals i, i+n, i+2n, ... until one lands in [a, b]; deterministic and
  // independent of the order of elements. The clamp only matters for absurdly narrow windows.
  constexpr int kMaxTries = 256;
  for (uint64_t i = 0; i < n; ++i) {
    double v = mean;
    for (int k = 0; k < kMaxTries; ++k) {
      v = mean + std * rng::normal_at(key, i + static_cast<uint64_t>(k) * n);
      if (v >= a && v <= b) break;
    }
    p[i] = std::clamp(v, a, b);
  }
  store(t, z);
}

}  // namespace lethe::nn
