#include "engine/ops/registry.h"

#include "engine/ops/ops.h"

namespace lethe::ops {
namespace {

uint64_t g_seed = 1234;
Tensor rn(const Shape& s) {
  return Tensor::randn(s, g_seed++);
}
Tensor pos(const Shape& s) {
  return Tensor::uniform(s, 0.5, 2.0, g_seed++);
}
Tensor labels(int64_t n, int64_t classes) {
  std::vector<int64_t> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = (i * 7 + 3) % classes;
  return Tensor::from_vector_i64({n}, v);
}
// A u8 mask with a pattern of runs and isolated elements (every vector lane mixes set and clear).
Tensor mask_u8(const Shape& s) {
  Tensor m = Tensor::empty(s, DType::U8);
  uint8_t* p = m.data<uint8_t>();
  for (int64_t i = 0; i < m.numel(); ++i) p[i] = (i * 5 + i / 7) % 3 != 0;
  return m;
}
OpCase mk(std::string label, std::vector<Tensor> in, std::vector<bool> diff = {}) {
  if (diff.empty()) diff.assign(in.size(), true);
  return OpCase{std::move(label), std::move(in), std::move(diff)};
}

using In = const std::vector<Tensor>&;

// The op table under construction: add_op(name, cases, forward, kinks, mutates).
struct Table {
  std::vector<OpInfo> ops;
  void operator()(std::string name, std::function<std::vector<OpCase>()> cases,
                  std::function<Tensor(In)> fwd, bool kinks = false, bool mutates = false) {
    ops.push_back(OpInfo{std::move(name), std::move(cases), std::move(fwd), mutates, kinks});
  }
};

// Linear algebra.
void add_linear_algebra(Table& add_op) {
  add_op(
      "matmul",
      [] {
        return std::vector<OpCase>{mk("[13,7]x[7,17]", {rn({13, 7}), rn({7, 17})}),
                                   mk("[1,1]x[1,33]", {rn({1, 1}), rn({1, 33})}),
                                   mk("[3,5,7]x[7,9]", {rn({3, 5, 7}), rn({7, 9})}),
                                   mk("[2,1,5,7]x[3,7,6]", {rn({2, 1, 5, 7}), rn({3, 7, 6})}),
                                   mk("[37,65]x[65,31]", {rn({37, 65}), rn({65, 31})})};
      },
      [](In x) { return matmul(x[0], x[1]); });
  add_op(
      "linear",
      [] {
        return std::vector<OpCase>{
            mk("x[5,7] w[3,7] b", {rn({5, 7}), rn({3, 7}), rn({3})}),
            mk("x[2,5,17] w[33,17] b", {rn({2, 5, 17}), rn({33, 17}), rn({33})}),
            mk("x[1,1] w[1,1] b", {rn({1, 1}), rn({1, 1}), rn({1})}),
            mk("x[67,129] w[10,129] no bias", {rn({67, 129}), rn({10, 129}), Tensor()},
               {true, true, false})};
      },
      [](In x) { return linear(x[0], x[1], x[2]); });
}

// Convolution.
void add_convolution(Table& add_op) {
  add_op(
      "conv2d",
      [] {
        struct S {
          Shape x, w;
          int64_t stride, pad;
          bool bias;
        };
        std::vector<OpCase> cs;
        for (S s :
             {S{{2, 3, 9, 7}, {5, 3, 3, 3}, 1, 1, true}, S{{3, 4, 8, 8}, {6, 4, 3, 3}, 2, 1, false},
              S{{2, 5, 6, 6}, {7, 5, 1, 1}, 1, 0, true}, S{{2, 5, 7, 6}, {3, 5, 1, 1}, 2, 0, false},
              S{{1, 3, 11, 13}, {4, 3, 7, 7}, 2, 3, true},
              S{{2, 2, 9, 9}, {3, 2, 4, 4}, 4, 0, true},
              S{{2, 17, 5, 5}, {33, 17, 3, 3}, 1, 1, true}}) {
          std::string label = "x";  // appended, not "x" + ...: GCC 12 -Wrestrict false positive
          label += shape_str(s.x) + " w" + shape_str(s.w) + " s" + std::to_string(s.stride) + " p" +
                   std::to_string(s.pad);
          Tensor b = s.bias ? rn({s.w[0]}) : Tensor();
          Tensor st =
              Tensor::from_vector({2}, {static_cast<float>(s.stride), static_cast<float>(s.pad)});
          cs.push_back(mk(label, {rn(s.x), rn(s.w), b, st}, {true, true, s.bias, false}));
        }
        return cs;
      },
      [](In x) {
        auto sp = x[3].to_vector();
        return conv2d(x[0], x[1], x[2], static_cast<int64_t>(sp[0]), static_cast<int64_t>(sp[1]));
      });
}

// Normalization.
void add_normalization(Table& add_op) {
  add_op(
      "batch_norm_train",
      [] {
        return std::vector<OpCase>{
            mk("x[4,6,5,3]", {rn({4, 6, 5, 3}), rn({6}), rn({6}), rn({6}), pos({6})},
               {true, true, true, false, false}),
            mk("x[3,5] (1-d)", {rn({3, 5}), rn({5}), rn({5}), rn({5}), pos({5})},
               {true, true, true, false, false}),
            mk("x[2,17,1,7]", {rn({2, 17, 1, 7}), rn({17}), rn({17}), rn({17}), pos({17})},
               {true, true, true, false, false})};
      },
      [](In x) { return batch_norm(x[0], x[1], x[2], x[3], x[4], true, 0.1, 1e-5); }, false, true);
  add_op(
      "batch_norm_eval",
      [] {
        return std::vector<OpCase>{
            mk("x[3,6,4,4]", {rn({3, 6, 4, 4}), rn({6}), rn({6}), rn({6}), pos({6})},
               {true, true, true, false, false}),
            mk("x[1,3,1,1]", {rn({1, 3, 1, 1}), rn({3}), rn({3}), rn({3}), pos({3})},
               {true, true, true, false, false}),
            // Frozen affine (attacks, AMUN's search): only dx is asked for.
            mk("x[2,4,5,5] frozen w,b", {rn({2, 4, 5, 5}), rn({4}), rn({4}), rn({4}), pos({4})},
               {true, false, false, false, false})};
      },
      [](In x) { return batch_norm(x[0], x[1], x[2], x[3], x[4], false, 0.1, 1e-5); });
  add_op(
      "layer_norm",
      [] {
        return std::vector<OpCase>{
            mk("x[2,5,24]", {rn({2, 5, 24}), rn({24}), rn({24})}),
            mk("x[7,1]", {rn({7, 1}), rn({1}), rn({1})}),
            mk("x[3,33] no affine", {rn({3, 33}), Tensor(), Tensor()}, {true, false, false})};
      },
      [](In x) { return layer_norm(x[0], x[1], x[2], 1e-6); });
}

// Activations.
void add_activations(Table& add_op) {
  auto unary_cases = [](std::function<Tensor(const Shape&)> gen) {
    return [gen] {
      return std::vector<OpCase>{mk("[4,33]", {gen({4, 33})}), mk("[1]", {gen({1})}),
                                 mk("[3,1,17]", {gen({3, 1, 17})}), mk("[70001]", {gen({70001})})};
    };
  };
  auto randn_gen = [](const Shape& s) { return rn(s); };
  auto pos_gen = [](const Shape& s) { return pos(s); };
  add_op(
      "relu", unary_cases(randn_gen), [](In x) { return relu(x[0]); }, true);
  add_op("gelu", unary_cases(randn_gen), [](In x) { return gelu(x[0]); });
  add_op(
      "abs", unary_cases(randn_gen), [](In x) { return abs(x[0]); }, true);
  add_op(
      "sign", unary_cases(randn_gen), [](In x) { return sign(x[0]); }, true);
  add_op("neg", unary_cases(randn_gen), [](In x) { return neg(x[0]); });
  add_op("exp", unary_cases(randn_gen), [](In x) { return exp(x[0]); });
  add_op("square", unary_cases(randn_gen), [](In x) { return square(x[0]); });
  add_op("sigmoid", unary_cases(randn_gen), [](In x) { return sigmoid(x[0]); });
  add_op("tanh", unary_cases(randn_gen), [](In x) { return tanh(x[0]); });
  add_op("sqrt", unary_cases(pos_gen), [](In x) { return sqrt(x[0]); });
  add_op("log", unary_cases(pos_gen), [](In x) { return log(x[0]); });
  add_op("reciprocal", unary_cases(pos_gen), [](In x) { return reciprocal(x[0]); });
  add_op("pow", unary_cases(pos_gen), [](In x) { return pow(x[0], 2.5); });
  add_op(
      "clamp", unary_cases(randn_gen), [](In x) { return clamp(x[0], -0.5, 0.7); }, true);
  add_op("add_scalar", unary_cases(randn_gen), [](In x) { return add(x[0], 0.37); });
  add_op("mul_scalar", unary_cases(randn_gen), [](In x) { return mul(x[0], -1.7); });
  add_op(
      "softmax",
      [] {
        return std::vector<OpCase>{mk("[3,4,17] dim -1", {rn({3, 4, 17})}),
                                   mk("[1,1]", {rn({1, 1})}), mk("[5,1000]", {rn({5, 1000})})};
      },
      [](In x) { return softmax(x[0], -1); });
  add_op(
      "softmax_dim1",
      [] {
        return std::vector<OpCase>{mk("[3,5,7] dim 1", {rn({3, 5, 7})})};
      },
      [](In x) { return softmax(x[0], 1); });
  add_op(
      "log_softmax",
      [] {
        return std::vector<OpCase>{mk("[6,10]", {rn({6, 10})}),
                                   mk("[2,3,33]", {mul(rn({2, 3, 33}), 10.0)})};
      },
      [](In x) { return log_softmax(x[0], -1); });
  add_op(
      "dropout",
      [] {
        return std::vector<OpCase>{mk("[4,33] p0.3", {rn({4, 33})}),
                                   mk("[70001] p0.3", {rn({70001})})};
      },
      [](In x) { return dropout(x[0], 0.3, true, 42); });
}

// Losses.
void add_losses(Table& add_op) {
  auto ce_cases = [] {
    return std::vector<OpCase>{
        mk("[7,10]", {rn({7, 10}), labels(7, 10)}, {true, false}),
        mk("[1,3]", {rn({1, 3}), labels(1, 3)}, {true, false}),
        mk("[65,37]", {mul(rn({65, 37}), 4.0), labels(65, 37)}, {true, false})};
  };
  add_op("cross_entropy_mean", ce_cases,
         [](In x) { return cross_entropy(x[0], x[1], Reduction::Mean); });
  add_op("cross_entropy_sum", ce_cases,
         [](In x) { return cross_entropy(x[0], x[1], Reduction::Sum); });
  add_op("cross_entropy_none", ce_cases,
         [](In x) { return cross_entropy(x[0], x[1], Reduction::None); });
  add_op("cross_entropy_smooth", ce_cases,
         [](In x) { return cross_entropy(x[0], x[1], Reduction::Mean, 0.1); });
}

// Pooling.
void add_pooling(Table& add_op) {
  add_op(
      "max_pool2d",
      [] {
        return std::vector<OpCase>{mk("x[2,3,9,8] k3 s2 p1", {rn({2, 3, 9, 8})}),
                                   mk("x[1,2,7,5] k2 s2 p0", {rn({1, 2, 7, 5})}),
                                   mk("x[2,5,17,17] k3 s2 p1", {rn({2, 5, 17, 17})})};
      },
      [](In x) {
        return x[0].size(2) == 7 ? max_pool2d(x[0], 2, 2, 0) : max_pool2d(x[0], 3, 2, 1);
      },
      true);
  add_op(
      "avg_pool2d",
      [] {
        return std::vector<OpCase>{mk("x[2,3,8,6] k2 s2 p0", {rn({2, 3, 8, 6})}),
                                   mk("x[2,3,9,7] k3 s2 p1", {rn({2, 3, 9, 7})})};
      },
      [](In x) {
        return x[0].size(2) == 8 ? avg_pool2d(x[0], 2, 2, 0) : avg_pool2d(x[0], 3, 2, 1);
      });
  add_op(
      "adaptive_avg_pool2d",
      [] {
        return std::vector<OpCase>{mk("x[2,5,7,3] -> 1x1", {rn({2, 5, 7, 3})}),
                                   mk("x[2,3,7,5] -> 3x2", {rn({2, 3, 7, 5})})};
      },
      [](In x) {
        return x[0].size(2) == 7 && x[0].size(3) == 3 ? adaptive_avg_pool2d(x[0], 1, 1)
                                                      : adaptive_avg_pool2d(x[0], 3, 2);
      });
}

// Broadcasting binary ops.
void add_broadcasting_binary_ops(Table& add_op) {
  auto bin_cases = [](bool positive_b) {
    return [positive_b] {
      auto b = [&](const Shape& s) { return positive_b ? pos(s) : rn(s); };
      return std::vector<OpCase>{mk("[4,33]o[4,33]", {rn({4, 33}), b({4, 33})}),
                                 mk("[3,1,5]o[4,1]", {rn({3, 1, 5}), b({4, 1})}),
                                 mk("[2,3]o[] scalar", {rn({2, 3}), b({})}),
                                 mk("[1]o[7,1,3]", {rn({1}), b({7, 1, 3})}),
                                 mk("[300,257]o[257]", {rn({300, 257}), b({257})})};
    };
  };
  add_op("add", bin_cases(false), [](In x) { return add(x[0], x[1]); });
  add_op("sub", bin_cases(false), [](In x) { return sub(x[0], x[1]); });
  add_op("mul", bin_cases(false), [](In x) { return mul(x[0], x[1]); });
  add_op("div", bin_cases(true), [](In x) { return div(x[0], x[1]); });
  add_op(
      "maximum", bin_cases(false), [](In x) { return maximum(x[0], x[1]); }, true);
  add_op(
      "minimum", bin_cases(false), [](In x) { return minimum(x[0], x[1]); }, true);
  add_op(
      "where",
      [] {
        return std::vector<OpCase>{
            mk("[5,7]", {mask_u8({5, 7}), rn({5, 7}), rn({5, 7})}, {false, true, true}),
            mk("[3,1,33]", {mask_u8({3, 1, 33}), rn({3, 1, 33}), rn({3, 1, 33})},
               {false, true, true}),
            mk("[4099]", {mask_u8({4099}), rn({4099}), rn({4099})}, {false, true, true})};
      },
      [](In x) { return where(x[0], x[1], x[2]); });
}

// Reductions and norms.
void add_reductions_and_norms(Table& add_op) {
  add_op(
      "sum_all",
      [] {
        return std::vector<OpCase>{mk("[3,5,7]", {rn({3, 5, 7})}), mk("[70001]", {rn({70001})})};
      },
      [](In x) { return sum(x[0]); });
  add_op(
      "sum_axes",
      [] {
        return std::vector<OpCase>{mk("[3,5,7] dims {0,2}", {rn({3, 5, 7})})};
      },
      [](In x) {
        return sum(x[0], {0, 2}, false);
      });
  add_op(
      "sum_keepdim",
      [] {
        return std::vector<OpCase>{mk("[3,5,7] dims {1} keepdim", {rn({3, 5, 7})}),
                                   mk("[300,257] dims {1} keepdim", {rn({300, 257})})};
      },
      [](In x) { return sum(x[0], {1}, true); });
  add_op(
      "mean_axes",
      [] {
        return std::vector<OpCase>{mk("[4,6,5] dims {0}", {rn({4, 6, 5})})};
      },
      [](In x) { return mean(x[0], {0}, false); });
  add_op(
      "l1_norm",
      [] {
        return std::vector<OpCase>{mk("[5,17]", {rn({5, 17})})};
      },
      [](In x) { return l1_norm(x[0]); }, true);
  add_op(
      "l2_norm",
      [] {
        return std::vector<OpCase>{mk("[5,17]", {rn({5, 17})})};
      },
      [](In x) { return l2_norm(x[0]); });
}

// Layout.
void add_layout(Table& add_op) {
  add_op(
      "concat",
      [] {
        return std::vector<OpCase>{
            mk("[2,3,5]+[2,1,5]+[2,4,5] dim 1", {rn({2, 3, 5}), rn({2, 1, 5}), rn({2, 4, 5})})};
      },
      [](In x) {
        return concat({x[0], x[1], x[2]}, 1);
      });
  add_op(
      "permute_contiguous",
      [] {
        return std::vector<OpCase>{mk("[2,3,5,7] -> (0,2,3,1)", {rn({2, 3, 5, 7})})};
      },
      [](In x) {
        return contiguous(permute(x[0], {0, 2, 3, 1}));
      });
  add_op(
      "slice_reshape",
      [] {
        return std::vector<OpCase>{mk("[5,7,3] [1:4] on dim 1", {rn({5, 7, 3})})};
      },
      [](In x) {
        return reshape(slice(x[0], 1, 1, 4), {5, -1});
      });
  add_op(
      "index_select",
      [] {
        return std::vector<OpCase>{mk("[6,3,2] rows {4,0,4,5}", {rn({6, 3, 2})})};
      },
      [](In x) {
        return index_select(x[0], {4, 0, 4, 5});
      });
}

// Attention.
void add_attention(Table& add_op) {
  add_op(
      "attention",
      [] {
        return std::vector<OpCase>{
            mk("qkv[2,5,48] heads 4", {mul(rn({2, 5, 48}), 0.7), Tensor::scalar(4)}, {true, false}),
            mk("qkv[1,17,72] heads 3", {mul(rn({1, 17, 72}), 0.7), Tensor::scalar(3)},
               {true, false}),
            mk("qkv[3,1,6] heads 1", {rn({3, 1, 6}), Tensor::scalar(1)}, {true, false})};
      },
      [](In x) { return attention(x[0], static_cast<int64_t>(x[1].item())); });
  add_op(
      "multi_head_attention",
      [] {
        return std::vector<OpCase>{mk("x[2,5,16] heads 4",
                                      {rn({2, 5, 16}), mul(rn({48, 16}), 0.3), rn({48}),
                                       mul(rn({16, 16}), 0.3), rn({16}), Tensor::scalar(4)},
                                      {true, true, true, true, true, false}),
                                   mk("x[1,17,24] heads 3",
                                      {rn({1, 17, 24}), mul(rn({72, 24}), 0.3), rn({72}),
                                       mul(rn({24, 24}), 0.3), rn({24}), Tensor::scalar(3)},
                                      {true, true, true, true, true, false})};
      },
      [](In x) {
        return multi_head_attention(x[0], x[1], x[2], x[3], x[4],
                                    static_cast<int64_t>(x[5].item()));
      });
}

std::vector<OpInfo> build() {
  Table t;
  add_linear_algebra(t);
  add_convolution(t);
  add_normalization(t);
  add_activations(t);
  add_losses(t);
  add_pooling(t);
  add_broadcasting_binary_ops(t);
  add_reductions_and_norms(t);
  add_layout(t);
  add_attention(t);
  return std::move(t.ops);
}

}  // namespace

const std::vector<OpInfo>& op_registry() {
  static const std::vector<OpInfo> reg = build();
  return reg;
}

const OpInfo& find_op(const std::string& name) {
  for (const OpInfo& o : op_registry())
    if (o.name == name) return o;
  LETHE_FAIL("op registry: no op named '", name, "'");
}

}  // namespace lethe::ops
