// Normalization statistics for the CPU backend (batch norm per channel, layer norm per row).
// Two passes accumulated in double: the mean, then Σ(x − mean)² — never E[x²] − E[x]², which
// cancels when |mean| ≫ σ (a channel at 1e4 ± 1 loses every digit of its variance in float).
// The output subtracts the mean split into two floats (hi + lo): x − hi is exact near the mean,
// so y keeps float precision even when |mean| ≫ σ; x·scale + (b − mean·scale) would not.
// Double sums run in 16 independent lanes so the loops vectorise without reassociation flags.
#pragma once
#include <cstdint>

namespace lethe::kernels::cpu {

struct Moments {
  double mean = 0, var = 0;  // biased variance
  int64_t count = 0;
};

// Moments of `rows` rows of `len` floats, row r at x + r·stride.
Moments moments(const float* x, int64_t rows, int64_t len, int64_t stride);

// Σ over the rows of (x − center), in double. The backward reads a float mean; this recovers
// how far it sits from the true mean (δ = Σ(x − center) / count), a constant shift of x̂.
double centered_sum(const float* x, int64_t rows, int64_t len, int64_t stride, float center);

// Σdy, Σdy·(x − center) and Σ(x − center) over the rows (x and dy share the layout), in double.
struct GradSums {
  double dy = 0, dy_xc = 0, xc = 0;
};
GradSums grad_sums(const float* x, const float* dy, int64_t rows, int64_t len, int64_t stride,
                   float center);

// y[i] = ((x[i] − hi) − lo)·scale + shift, hi + lo = mean.
void normalize(const float* x, float* y, int64_t n, double mean, float scale, float shift);
// Per-element affine: y[i] = ((x[i] − hi) − lo)·scale·w[i] + b[i] (w, b may be null).
void normalize_affine(const float* x, float* y, int64_t n, double mean, float scale, const float* w,
                      const float* b);

}  // namespace lethe::kernels::cpu
