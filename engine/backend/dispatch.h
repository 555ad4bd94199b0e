// Maps the runtime op enums of backend.h to the functors of kernels/common/functors.h, so each
// backend writes its loop once as a generic lambda and the switch happens outside the loop.
#pragma once
#include "engine/backend/backend.h"
#include "kernels/common/functors.h"

namespace lethe {

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

// Broadcast strides of a contiguous tensor of shape `in` against output shape `out`
// (right-aligned; 0 where the input dimension is missing or 1).
inline Shape broadcast_strides(const Shape& in, const Shape& out) {
  Shape st(out.size(), 0);
  Shape cs = contiguous_strides(in);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i)
    st[off + i] = (in[i] == 1 && out[off + i] != 1) ? 0 : cs[i];
  return st;
}

}  // namespace lethe
