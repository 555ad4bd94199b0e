// Parameter initialization: a seeded Generator (Philox counter streams) and the PyTorch / timm
// initializers (uniform, normal, kaiming, xavier, truncated normal) that fill tensors in place.
#pragma once
#include <cstdint>
#include <utility>

#include "engine/core/tensor.h"

namespace lethe::nn {

// A reproducible source of random streams. Every draw (one tensor fill, one dropout module)
// takes a fresh 64-bit stream key derived from (seed, counter), so the values depend only on the
// seed and the order of draws, never on thread counts or backends.
class Generator {
 public:
  explicit Generator(uint64_t seed = kDefaultSeed) : seed_(seed) {}
  // Restarts the sequence of streams from `seed`.
  void manual_seed(uint64_t seed) {
    seed_ = seed;
    counter_ = 0;
  }
  uint64_t seed() const { return seed_; }
  uint64_t counter() const { return counter_; }
  // Puts the generator back where seed() and counter() read it (a probe that must not draw).
  void restore(uint64_t seed, uint64_t counter) {
    seed_ = seed;
    counter_ = counter;
  }
  // The next stream key (advances the counter by one).
  uint64_t next_key();
  // One uniform double in [0, 1) (53 random bits; advances the counter by one).
  double next_uniform();

  static constexpr uint64_t kDefaultSeed = 0x4C455448455ULL;

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
};

// The process-wide generator used when a layer or initializer is given none.
Generator& default_generator();
// Reseeds the default generator (PyTorch's torch.manual_seed for this engine).
void manual_seed(uint64_t seed);

enum class FanMode { FanIn, FanOut };
enum class Nonlinearity { Linear, Conv, Sigmoid, Tanh, Relu, LeakyRelu, Selu };

// PyTorch's _calculate_fan_in_and_fan_out: {size(1) * receptive, size(0) * receptive}.
std::pair<int64_t, int64_t> fan_in_and_fan_out(const Tensor& t);
// PyTorch's calculate_gain; `param` is the leaky-ReLU negative slope.
double calculate_gain(Nonlinearity nl, double param = 0.01);

// All fill float tensors in place (shape and identity kept; no graph is recorded).
void constant_(Tensor& t, double value);
void zeros_(Tensor& t);
void ones_(Tensor& t);
void uniform_(Tensor& t, double lo, double hi, Generator& g = default_generator());
void normal_(Tensor& t, double mean, double std, Generator& g = default_generator());
// std = gain / sqrt(fan), U(-sqrt(3)·std, sqrt(3)·std). Defaults as torch.nn.init.
void kaiming_uniform_(Tensor& t, double a = 0, FanMode mode = FanMode::FanIn,
                      Nonlinearity nl = Nonlinearity::LeakyRelu,
                      Generator& g = default_generator());
// N(0, gain / sqrt(fan)); torchvision ResNet uses (mode FanOut, Relu) on convolutions.
void kaiming_normal_(Tensor& t, double a = 0, FanMode mode = FanMode::FanIn,
                     Nonlinearity nl = Nonlinearity::LeakyRelu, Generator& g = default_generator());
void xavier_uniform_(Tensor& t, double gain = 1.0, Generator& g = default_generator());
// N(mean, std) restricted to [a, b] (absolute bounds, as timm's trunc_normal_), by rejection.
void trunc_normal_(Tensor& t, double mean = 0, double std = 1, double a = -2, double b = 2,
                   Generator& g = default_generator());

}  // namespace lethe::nn
