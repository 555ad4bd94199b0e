// Elementwise math shared by every backend: the CPU reference, the fast CPU backend and (later)
// the CUDA kernels call these same functors, so an activation is defined exactly once.
// Each functor has fwd(x) and bwd(x, y, dy) = dy · f'(x) (y = f(x) where that is cheaper), and
// `saves`: which of x and y its bwd reads (the other argument may then be any same-shaped data).
#pragma once
#include <cmath>

#include "kernels/common/hd.h"

namespace lethe::fn {

// What a functor's bwd reads besides dy, so autograd keeps only that alive (`saves`).
enum : unsigned { kSaveX = 1, kSaveY = 2 };

struct Relu {
  static constexpr unsigned saves = kSaveY;
  // Selects, not branches, so CPU loops vectorize; x < 0 ? 0 : x keeps NaN, as PyTorch does.
  template <class T>
  LETHE_HD T fwd(T x) const {
    return x < T(0) ? T(0) : x;
  }
  template <class T>
  // From the output: y > 0 exactly where x > 0 (NaN in both gives 0), so only y is kept.
  LETHE_HD T bwd(T, T y, T dy) const {
    return y > T(0) ? dy : T(0);
  }
};
struct Gelu {  // exact: 0.5 x (1 + erf(x/√2))
  static constexpr unsigned saves = kSaveX;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return T(0.5) * x * (T(1) + std::erf(x * T(0.70710678118654752440)));
  }
  template <class T>
  LETHE_HD T bwd(T x, T, T dy) const {
    T cdf = T(0.5) * (T(1) + std::erf(x * T(0.70710678118654752440)));
    T pdf = std::exp(T(-0.5) * x * x) * T(0.39894228040143267794);
    return dy * (cdf + x * pdf);
  }
};
struct Abs {
  static constexpr unsigned saves = kSaveX;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return std::fabs(x);
  }
  template <class T>
  LETHE_HD T bwd(T x, T, T dy) const {
    return x > T(0) ? dy : (x < T(0) ? -dy : T(0));
  }
};
struct Sign {
  static constexpr unsigned saves = 0;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return T((x > T(0)) - (x < T(0)));
  }
  template <class T>
  LETHE_HD T bwd(T, T, T) const {
    return T(0);
  }
};
struct Sqrt {
  static constexpr unsigned saves = kSaveY;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return std::sqrt(x);
  }
  template <class T>
  LETHE_HD T bwd(T, T y, T dy) const {
    return dy * T(0.5) / y;
  }
};
struct Exp {
  static constexpr unsigned saves = kSaveY;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return std::exp(x);
  }
  template <class T>
  LETHE_HD T bwd(T, T y, T dy) const {
    return dy * y;
  }
};
struct Log {
  static constexpr unsigned saves = kSaveX;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return std::log(x);
  }
  template <class T>
  LETHE_HD T bwd(T x, T, T dy) const {
    return dy / x;
  }
};
struct Neg {
  static constexpr unsigned saves = 0;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return -x;
  }
  template <class T>
  LETHE_HD T bwd(T, T, T dy) const {
    return -dy;
  }
};
struct Square {
  static constexpr unsigned saves = kSaveX;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return x * x;
  }
  template <class T>
  LETHE_HD T bwd(T x, T, T dy) const {
    return T(2) * x * dy;
  }
};
struct Pow {
  static constexpr unsigned saves = kSaveX;
  double p;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return std::pow(x, T(p));
  }
  template <class T>
  LETHE_HD T bwd(T x, T, T dy) const {
    return dy * T(p) * std::pow(x, T(p - 1));
  }
};
struct Clamp {  // gradient passes where lo <= x <= hi (PyTorch's convention)
  static constexpr unsigned saves = kSaveX;
  double lo, hi;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return x < T(lo) ? T(lo) : (x > T(hi) ? T(hi) : x);
  }
  template <class T>
  LETHE_HD T bwd(T x, T, T dy) const {
    return (x >= T(lo) && x <= T(hi)) ? dy : T(0);
  }
};
struct Scale {
  static constexpr unsigned saves = 0;
  double s;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return x * T(s);
  }
  template <class T>
  LETHE_HD T bwd(T, T, T dy) const {
    return dy * T(s);
  }
};
struct AddScalar {
  static constexpr unsigned saves = 0;
  double s;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return x + T(s);
  }
  template <class T>
  LETHE_HD T bwd(T, T, T dy) const {
    return dy;
  }
};
struct Sigmoid {
  static constexpr unsigned saves = kSaveY;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return T(1) / (T(1) + std::exp(-x));
  }
  template <class T>
  LETHE_HD T bwd(T, T y, T dy) const {
    return dy * y * (T(1) - y);
  }
};
struct Tanh {
  static constexpr unsigned saves = kSaveY;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return std::tanh(x);
  }
  template <class T>
  LETHE_HD T bwd(T, T y, T dy) const {
    return dy * (T(1) - y * y);
  }
};
struct Reciprocal {
  static constexpr unsigned saves = kSaveY;
  template <class T>
  LETHE_HD T fwd(T x) const {
    return T(1) / x;
  }
  template <class T>
  LETHE_HD T bwd(T, T y, T dy) const {
    return -dy * y * y;
  }
};

struct Add {
  template <class T>
  LETHE_HD T operator()(T a, T b) const {
    return a + b;
  }
};
struct Sub {
  template <class T>
  LETHE_HD T operator()(T a, T b) const {
    return a - b;
  }
};
struct Mul {
  template <class T>
  LETHE_HD T operator()(T a, T b) const {
    return a * b;
  }
};
struct Div {
  template <class T>
  LETHE_HD T operator()(T a, T b) const {
    return a / b;
  }
};
struct Max {
  template <class T>
  LETHE_HD T operator()(T a, T b) const {
    return a > b ? a : b;
  }
};
struct Min {
  template <class T>
  LETHE_HD T operator()(T a, T b) const {
    return a < b ? a : b;
  }
};

}  // namespace lethe::fn
