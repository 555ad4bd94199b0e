// Modules: dotted names and order, state dicts (round trip and errors), mode recursion,
// freezing, BatchNorm running statistics, Dropout, PyTorch default initialization.
#include <doctest/doctest.h>

#include <unistd.h>
#include <cmath>
#include <cstdio>
#include <string>

#include "engine/io/tensor_io.h"
#include "engine/nn/init.h"
#include "engine/nn/layers.h"
#include "engine/nn/module.h"
#include "engine/ops/ops.h"

using namespace lethe;
using namespace lethe::nn;

namespace {

// A torchvision-like miniature: conv1, layer1 = [Block, Block], fc.
struct Block : Module {
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<BatchNorm2d> bn1;
  Block() {
    conv1 = register_module("conv1", std::make_shared<Conv2d>(2, 2, 3, 1, 1, false));
    bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(2));
  }
  std::string type_name() const override { return "Block"; }
  Tensor forward(const Tensor& x) override { return ops::relu(bn1->forward(conv1->forward(x))); }
};

struct Net : Module {
  std::shared_ptr<Conv2d> conv1;
  std::shared_ptr<Sequential> layer1;
  std::shared_ptr<Linear> fc;
  Net() {
    conv1 = register_module("conv1", std::make_shared<Conv2d>(1, 2, 3, 1, 1));
    layer1 = register_module("layer1", std::make_shared<Sequential>(std::vector<ModulePtr>{
                                           std::make_shared<Block>(), std::make_shared<Block>()}));
    fc = register_module("fc", std::make_shared<Linear>(2, 3));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = layer1->forward(conv1->forward(x));
    return fc->forward(ops::mean(h, {2, 3}));
  }
};

std::vector<std::string> names_of(const NamedTensorList& l) {
  std::vector<std::string> out;
  for (const auto& [n, t] : l) out.push_back(n);
  return out;
}

std::map<std::string, Tensor> as_map(const NamedTensorList& l) {
  std::map<std::string, Tensor> m;
  for (const auto& [n, t] : l) m[n] = t.clone();
  return m;
}

// The message of the lethe::Error fn throws ("" if none).
template <class F>
std::string error_of(F fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool same_values(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.to_vector_f64() == b.to_vector_f64();
}

}  // namespace

TEST_SUITE("unit") {
  TEST_CASE("nn: parameter and buffer names follow registration order with dotted paths") {
    Net net;
    std::vector<std::string> want_params = {"conv1.weight",
                                            "conv1.bias",
                                            "layer1.0.conv1.weight",
                                            "layer1.0.bn1.weight",
                                            "layer1.0.bn1.bias",
                                            "layer1.1.conv1.weight",
                                            "layer1.1.bn1.weight",
                                            "layer1.1.bn1.bias",
                                            "fc.weight",
                                            "fc.bias"};
    CHECK(names_of(net.named_parameters()) == want_params);
    std::vector<std::string> want_buffers = {
        "layer1.0.bn1.running_mean",        "layer1.0.bn1.running_var",
        "layer1.0.bn1.num_batches_tracked", "layer1.1.bn1.running_mean",
        "layer1.1.bn1.running_var",         "layer1.1.bn1.num_batches_tracked"};
    CHECK(names_of(net.named_buffers()) == want_buffers);
    CHECK(net.parameters().size() == want_params.size());
    // 1·2·9 + 2 + 2·(2·2·9 + 2 + 2) + 2·3 + 3
    CHECK(net.num_parameters() == 18 + 2 + 2 * (36 + 4) + 6 + 3);
    Tensor nbt = net.find_tensor("layer1.1.bn1.num_batches_tracked");
    REQUIRE(nbt.defined());
    CHECK(nbt.dtype() == DType::I64);
    CHECK(nbt.shape().empty());
    CHECK(net.find_tensor("fc.weight").impl() == net.fc->weight.impl());
    CHECK_FALSE(net.find_tensor("layer1.7.conv1.weight").defined());
    CHECK(net.find_module("layer1.1.bn1") ==
          net.layer1->named_children()[1].second->find_module("bn1"));
    auto mods = net.named_modules();
    REQUIRE(mods.size() == 10);
    CHECK(mods[0].first.empty());
    CHECK(mods[3].first == "layer1.0");
    CHECK(mods[3].second->type_name() == "Block");
    for (const Tensor& p : net.parameters()) CHECK(p.requires_grad());
    for (const auto& [n, b] : net.named_buffers()) CHECK_FALSE(b.requires_grad());
  }

  TEST_CASE("nn: duplicate or dotted member names are rejected") {
    Linear l(2, 2);
    CHECK(error_of([&] { l.register_parameter("weight", Tensor::zeros({1})); }).find("weight") !=
          std::string::npos);
    CHECK_THROWS_AS(l.register_buffer("a.b", Tensor::zeros({1})), Error);
    Sequential s;
    s.add("stem", std::make_shared<Identity>()).push_back(std::make_shared<ReLU>());
    CHECK(names_of(s.state_dict()).empty());
    auto ch = s.named_children();
    REQUIRE(ch.size() == 2);
    CHECK(ch[0].first == "stem");
    CHECK(ch[1].first == "1");
  }

  TEST_CASE("nn: state_dict round trip through load_state_dict and a safetensors file") {
    manual_seed(1);
    Net a;
    manual_seed(2);
    Net b;
    CHECK_FALSE(same_values(a.fc->weight, b.fc->weight));
    a.layer1->named_children()[0].second->find_tensor("bn1.num_batches_tracked").fill_(7);
    a.find_tensor("layer1.0.bn1.running_var").fill_(2.5);

    Tensor before = b.fc->weight;
    b.load_state_dict(as_map(a.state_dict()));
    CHECK(b.fc->weight.impl() == before.impl());  // loaded in place
    auto sa = a.state_dict(), sb = b.state_dict();
    REQUIRE(sa.size() == sb.size());
    for (size_t i = 0; i < sa.size(); ++i) {
      CAPTURE(sa[i].first);
      CHECK(sa[i].first == sb[i].first);
      CHECK(sa[i].second.dtype() == sb[i].second.dtype());
      CHECK(same_values(sa[i].second, sb[i].second));
    }
    CHECK(b.find_tensor("layer1.0.bn1.num_batches_tracked").item() == 7);

    std::string path = "/tmp/lethe_test_nn_" + std::to_string(getpid()) + ".safetensors";
    io::save_tensors(path, a.state_dict());
    manual_seed(3);
    Net c;
    c.load_state_dict(io::load_tensors(path).tensors);
    std::remove(path.c_str());
    auto sc = c.state_dict();
    for (size_t i = 0; i < sa.size(); ++i) {
      CAPTURE(sa[i].first);
      CHECK(same_values(sa[i].second, sc[i].second));
    }
    CHECK(c.find_tensor("layer1.0.bn1.num_batches_tracked").dtype() == DType::I64);
  }

  TEST_CASE("nn: load_state_dict names missing, unexpected and misshapen tensors") {
    Net net;
    auto good = as_map(net.state_dict());
    Tensor fc_before = net.fc->weight.clone();

    auto missing = good;
    missing.erase("layer1.1.bn1.running_var");
    std::string e = error_of([&] { net.load_state_dict(missing); });
    CHECK(e.find("missing") != std::string::npos);
    CHECK(e.find("layer1.1.bn1.running_var") != std::string::npos);
    CHECK_NOTHROW(net.load_state_dict(missing, /*strict=*/false));

    auto extra = good;
    extra["fc.scale"] = Tensor::ones({3});
    e = error_of([&] { net.load_state_dict(extra); });
    CHECK(e.find("unexpected") != std::string::npos);
    CHECK(e.find("fc.scale") != std::string::npos);
    CHECK_NOTHROW(net.load_state_dict(extra, false));

    auto bad = good;
    bad["fc.weight"] = Tensor::zeros({3, 4});
    bad["conv1.bias"] = Tensor::zeros({5});  // also wrong, but the error must name fc.weight
    e = error_of([&] { net.load_state_dict(bad); });
    CHECK(e.find("fc.weight") != std::string::npos);
    CHECK(e.find("[3,4]") != std::string::npos);
    CHECK(e.find("[3,2]") != std::string::npos);
    // Shape mismatches are errors even when not strict, and nothing was written.
    CHECK_THROWS_AS(net.load_state_dict(bad, false), Error);
    CHECK(same_values(net.fc->weight, fc_before));
  }

  TEST_CASE("nn: train and eval recurse into children") {
    Net net;
    CHECK(net.is_training());
    net.eval();
    for (auto& [n, m] : net.named_modules()) {
      CAPTURE(n);
      CHECK_FALSE(m->is_training());
    }
    net.layer1->train();
    CHECK_FALSE(net.is_training());
    CHECK(net.find_module("layer1.1.bn1")->is_training());
    CHECK_FALSE(net.fc->is_training());
    net.train();
    for (auto& [n, m] : net.named_modules()) CHECK(m->is_training());
  }

  TEST_CASE("nn: a frozen submodule gets no gradient") {
    manual_seed(5);
    Net net;
    net.layer1->set_requires_grad(false);
    Tensor x = Tensor::randn({2, 1, 5, 5}, 11);
    Tensor loss = ops::sum(net.forward(x));
    loss.backward();
    for (const auto& [n, p] : net.named_parameters()) {
      CAPTURE(n);
      bool frozen = n.rfind("layer1.", 0) == 0;
      CHECK(p.requires_grad() == !frozen);
      CHECK(p.grad().defined() == !frozen);
    }
    net.zero_grad();
    for (const Tensor& p : net.parameters()) CHECK_FALSE(p.grad().defined());
    net.set_requires_grad(true);
    for (const Tensor& p : net.parameters()) CHECK(p.requires_grad());
  }

  TEST_CASE("nn: BatchNorm2d updates running statistics in train mode only") {
    BatchNorm2d bn(2, 1e-5, 0.1);
    // Channel 0 holds 1..8, channel 1 holds 2·(1..8): N=2, H=W=2.
    std::vector<float> v(16);
    for (int n = 0; n < 2; ++n)
      for (int c = 0; c < 2; ++c)
        for (int k = 0; k < 4; ++k) v[(n * 2 + c) * 4 + k] = float((c + 1) * (n * 4 + k + 1));
    Tensor x = Tensor::from_vector({2, 2, 2, 2}, v);
    bn.forward(x);
    // mean(1..8) = 4.5, unbiased var(1..8) = 6; running = 0.9·init + 0.1·batch.
    auto rm = bn.running_mean.to_vector(), rv = bn.running_var.to_vector();
    CHECK(rm[0] == doctest::Approx(0.45).epsilon(1e-6));
    CHECK(rm[1] == doctest::Approx(0.9).epsilon(1e-6));
    CHECK(rv[0] == doctest::Approx(0.9 + 0.6).epsilon(1e-6));
    CHECK(rv[1] == doctest::Approx(0.9 + 2.4).epsilon(1e-6));
    CHECK(bn.num_batches_tracked.item() == 1);
    bn.forward(x);
    CHECK(bn.num_batches_tracked.item() == 2);

    bn.eval();
    Tensor rm_before = bn.running_mean.clone(), rv_before = bn.running_var.clone();
    Tensor y = bn.forward(x);
    CHECK(same_values(bn.running_mean, rm_before));
    CHECK(same_values(bn.running_var, rv_before));
    CHECK(bn.num_batches_tracked.item() == 2);
    // Eval normalizes with the running statistics.
    double m0 = rm_before.at(0), v0 = rv_before.at(0);
    CHECK(y.at(0) == doctest::Approx((1.0 - m0) / std::sqrt(v0 + 1e-5)).epsilon(1e-5));
  }

  TEST_CASE("nn: Dropout is the identity in eval and draws fresh reproducible masks in train") {
    Tensor x = Tensor::ones({4000});
    manual_seed(9);
    Dropout d(0.25);
    d.eval();
    Tensor ye = d.forward(x);
    CHECK(same_values(ye, x));
    d.train();
    auto m1 = d.forward(x).to_vector(), m2 = d.forward(x).to_vector();
    int zeros = 0;
    for (float v : m1) {
      CHECK((v == 0.0f || std::fabs(v - 1.0f / 0.75f) < 1e-6f));
      zeros += v == 0.0f;
    }
    CHECK(zeros > 850);
    CHECK(zeros < 1150);
    CHECK(m1 != m2);
    manual_seed(9);
    Dropout d2(0.25);
    CHECK(d2.forward(x).to_vector() == m1);
    CHECK(d2.forward(x).to_vector() == m2);
  }

  TEST_CASE("nn: default initialization matches PyTorch's bounds") {
    manual_seed(123);
    Linear lin(100, 50);
    double bound = 1.0 / std::sqrt(100.0);
    auto check_uniform = [](const Tensor& t, double b) {
      auto v = t.to_vector();
      double mx = 0, ss = 0;
      for (float x : v) {
        mx = std::max(mx, std::fabs(double(x)));
        ss += double(x) * x;
      }
      CHECK(mx <= b * (1 + 1e-6));
      if (v.size() < 1000) return;  // too few draws for statistics
      CHECK(mx > 0.99 * b);         // the whole range is used
      // U(-b, b) has standard deviation b/sqrt(3).
      CHECK(std::sqrt(ss / v.size()) == doctest::Approx(b / std::sqrt(3.0)).epsilon(0.05));
    };
    check_uniform(lin.weight, bound);
    check_uniform(lin.bias, bound);
    Conv2d conv(4, 8, 3);
    check_uniform(conv.weight, 1.0 / std::sqrt(36.0));
    check_uniform(conv.bias, 1.0 / std::sqrt(36.0));
    CHECK_FALSE(Conv2d(4, 8, 3, 1, 0, false).bias.defined());

    BatchNorm2d bn(3);
    LayerNorm ln(5);
    for (float w : bn.weight.to_vector()) CHECK(w == 1.0f);
    for (float b : bn.bias.to_vector()) CHECK(b == 0.0f);
    for (float w : ln.weight.to_vector()) CHECK(w == 1.0f);
    for (float b : ln.bias.to_vector()) CHECK(b == 0.0f);
    for (float m : bn.running_mean.to_vector()) CHECK(m == 0.0f);
    for (float v : bn.running_var.to_vector()) CHECK(v == 1.0f);

    // Reproducible from the seed, different for another seed.
    manual_seed(123);
    CHECK(same_values(Linear(100, 50).weight, lin.weight));
    manual_seed(124);
    CHECK_FALSE(same_values(Linear(100, 50).weight, lin.weight));
    Generator g(7);
    Linear l1(3, 3, true, g);
    g.manual_seed(7);
    Linear l2(3, 3, true, g);
    CHECK(same_values(l1.weight, l2.weight));
    CHECK(same_values(l1.bias, l2.bias));
  }

  TEST_CASE("nn: kaiming_normal_ and trunc_normal_") {
    Generator g(3);
    Tensor w = Tensor::empty({64, 32, 3, 3});
    kaiming_normal_(w, 0, FanMode::FanOut, Nonlinearity::Relu, g);
    auto v = w.to_vector();
    double s = 0, ss = 0;
    for (float x : v) s += x, ss += double(x) * x;
    double mean = s / v.size(), sd = std::sqrt(ss / v.size() - mean * mean);
    CHECK(std::fabs(mean) < 0.01);
    CHECK(sd == doctest::Approx(std::sqrt(2.0 / (64 * 9))).epsilon(0.03));

    Tensor t = Tensor::empty({20000});
    trunc_normal_(t, 0.0, 0.02, -0.03, 0.03, g);
    v = t.to_vector();
    s = ss = 0;
    for (float x : v) {
      CHECK((x >= -0.03f && x <= 0.03f));
      s += x;
      ss += double(x) * x;
    }
    // The std of N(0, σ) truncated to ±1.5σ is 0.7375σ.
    CHECK(std::sqrt(ss / v.size()) == doctest::Approx(0.02 * 0.7375).epsilon(0.03));
    CHECK(calculate_gain(Nonlinearity::LeakyRelu, std::sqrt(5.0)) ==
          doctest::Approx(std::sqrt(1.0 / 3.0)));
    CHECK(fan_in_and_fan_out(w) == std::pair<int64_t, int64_t>{32 * 9, 64 * 9});
  }

  TEST_CASE("nn: layers run and MultiHeadSelfAttention uses timm names") {
    manual_seed(4);
    MultiHeadSelfAttention att(8, 2);
    CHECK(names_of(att.named_parameters()) ==
          std::vector<std::string>{"qkv.weight", "qkv.bias", "proj.weight", "proj.bias"});
    CHECK(att.qkv->weight.shape() == Shape{24, 8});
    Tensor x = Tensor::randn({2, 5, 8}, 1);
    CHECK(att.forward(x).shape() == Shape{2, 5, 8});

    Tensor img = Tensor::randn({2, 3, 8, 8}, 2);
    Sequential net({std::make_shared<Conv2d>(3, 4, 3, 1, 1), std::make_shared<BatchNorm2d>(4),
                    std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2),
                    std::make_shared<AvgPool2d>(2, 1), std::make_shared<AdaptiveAvgPool2d>(1, 1),
                    std::make_shared<Flatten>(), std::make_shared<Linear>(4, 6),
                    std::make_shared<GELU>(), std::make_shared<LayerNorm>(6),
                    std::make_shared<Dropout>(0.1), std::make_shared<Identity>()});
    CHECK(net.forward(img).shape() == Shape{2, 6});
    CHECK(net.size() == 12);
    CHECK(net[1]->type_name() == "BatchNorm2d");
    CHECK_THROWS_AS(Module().forward(img), Error);
  }
}
