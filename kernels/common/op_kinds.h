// The runtime kinds of the elementwise ops (and the pooling window's arguments) and the map from
// an op kind to its functor of functors.h. The engine's ops and backends (engine/backend/backend.h)
// and the kernels of kernels/cpu and kernels/cuda all name ops by these; each backend writes its
// loop once as a generic lambda and the switch happens outside the loop.
#pragma once
#include <cstdint>

#include "kernels/common/functors.h"

namespace lethe {

enum class UnaryOp : uint8_t {
  Relu,
  Gelu,
  Abs,
  Sign,
  Sqrt,
  Exp,
  Log,
  Neg,
  Square,
  Pow,
  Clamp,
  Scale,
  AddScalar,
  Sigmoid,
  Tanh,
  Reciprocal
};
enum class BinaryOp : uint8_t { Add, Sub, Mul, Div, Max, Min };

struct UnaryParams {
  double a = 0;  // Pow: exponent; Clamp: lo; Scale: factor; AddScalar: value
  double b = 0;  // Clamp: hi
};

// 2-d pooling window: kernel, stride and padding per axis.
struct Pool2dArgs {
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

template <class F>
decltype(auto) with_unary(UnaryOp op, const UnaryParams& p, F&& f) {
  switch (op) {
    case UnaryOp::Relu:
      return f(fn::Relu{});
    case UnaryOp::Gelu:
      return f(fn::Gelu{});
    case UnaryOp::Abs:
      return f(fn::Abs{});
    case UnaryOp::Sign:
      return f(fn::Sign{});
    case UnaryOp::Sqrt:
      return f(fn::Sqrt{});
    case UnaryOp::Exp:
      return f(fn::Exp{});
    case UnaryOp::Log:
      return f(fn::Log{});
    case UnaryOp::Neg:
      return f(fn::Neg{});
    case UnaryOp::Square:
      return f(fn::Square{});
    case UnaryOp::Pow:
      return f(fn::Pow{p.a});
    case UnaryOp::Clamp:
      return f(fn::Clamp{p.a, p.b});
    case UnaryOp::Scale:
      return f(fn::Scale{p.a});
    case UnaryOp::AddScalar:
      return f(fn::AddScalar{p.a});
    case UnaryOp::Sigmoid:
      return f(fn::Sigmoid{});
    case UnaryOp::Tanh:
      return f(fn::Tanh{});
    case UnaryOp::Reciprocal:
      return f(fn::Reciprocal{});
  }
  return f(fn::Neg{});
}

template <class F>
decltype(auto) with_binary(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::Add:
      return f(fn::Add{});
    case BinaryOp::Sub:
      return f(fn::Sub{});
    case BinaryOp::Mul:
      return f(fn::Mul{});
    case BinaryOp::Div:
      return f(fn::Div{});
    case BinaryOp::Max:
      return f(fn::Max{});
    case BinaryOp::Min:
      return f(fn::Min{});
  }
  return f(fn::Add{});
}

}  // namespace lethe
