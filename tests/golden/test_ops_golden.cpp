// Every op case of ../shared/golden/ops.safetensors (PyTorch 1.13, computed in float64) on
// every backend: forward within 1e-4 relative, gradients within 1e-3 (the README's tolerances).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "engine/io/tensor_io.h"
#include "engine/ops/ops.h"
#include "tests/support/run_op.h"

using namespace lethe;

namespace {

struct Golden {
  io::NamedTensors f;
  nlohmann::json manifest;
  Golden() {
    f = io::load_tensors(LETHE_TEST_DATA_DIR "/golden/ops.safetensors");
    manifest = nlohmann::json::parse(f.metadata.at("manifest"));
  }
  Tensor get(const std::string& k) const {
    auto it = f.tensors.find(k);
    LETHE_CHECK(it != f.tensors.end(), "golden: missing tensor ", k);
    return it->second;
  }
  bool has(const std::string& k) const { return f.tensors.count(k) > 0; }
};

const Golden& golden() {
  static Golden g;
  return g;
}

// Runs fn on leaf copies of the named inputs, backward with CASE.dy (or 1 for a scalar),
// and compares CASE.y and CASE.d<input> for each input named in `grads`.
void check_case(const std::string& cs, const std::vector<std::string>& names,
                const std::vector<bool>& diff,
                const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                const std::string& backend) {
  const Golden& g = golden();
  BackendGuard guard(backend);
  std::vector<Tensor> in;
  for (size_t i = 0; i < names.size(); ++i) {
    Tensor t = g.get(cs + "." + names[i]).clone();
    if (diff[i]) t.set_requires_grad(true);
    in.push_back(t);
  }
  Tensor y = fn(in);
  Tensor want_y = g.get(cs + ".y");
  CAPTURE(cs);
  CAPTURE(backend);
  REQUIRE(y.numel() == want_y.numel());
  double ef = testing::rel_error(y, want_y);
  CHECK(ef <= 1e-4);
  Tensor dy = g.has(cs + ".dy") ? g.get(cs + ".dy") : Tensor::ones(want_y.shape());
  y.backward(ops::reshape(dy, y.shape()));
  for (size_t i = 0; i < names.size(); ++i) {
    if (!diff[i]) continue;
    std::string key = cs + ".d" + names[i];
    if (!g.has(key)) continue;
    CAPTURE(key);
    REQUIRE(in[i].grad().defined());
    double eb = testing::rel_error(in[i].grad(), g.get(key));
    CHECK(eb <= 1e-3);
  }
}

}  // namespace

TEST_SUITE("golden") {
  TEST_CASE("golden op cases match PyTorch on every backend") {
    const Golden& g = golden();
    int ran = 0;
    for (const std::string& be : backend_names()) {
      for (auto& [cs, spec] : g.manifest.items()) {
        std::string op = spec.at("op");
        if (op == "optimizer") continue;  // tests/golden/test_optim_golden.cpp
        if (op == "conv2d") {
          int64_t s = spec.at("stride"), p = spec.at("padding");
          check_case(
              cs, {"x", "w", "b"}, {true, true, true},
              [=](auto& x) { return ops::conv2d(x[0], x[1], x[2], s, p); }, be);
        } else if (op == "linear") {
          check_case(
              cs, {"x", "w", "b"}, {true, true, true},
              [](auto& x) { return ops::linear(x[0], x[1], x[2]); }, be);
        } else if (op == "batch_norm" && spec.at("training").get<bool>()) {
          // Running statistics: start from *_before, compare with *_after.
          Tensor rm = g.get(cs + ".running_mean_before").clone();
          Tensor rv = g.get(cs + ".running_var_before").clone();
          double mom = spec.at("momentum"), eps = spec.at("eps");
          check_case(
              cs, {"x", "w", "b"}, {true, true, true},
              [&](auto& x) { return ops::batch_norm(x[0], x[1], x[2], rm, rv, true, mom, eps); },
              be);
          CHECK(testing::rel_error(rm, g.get(cs + ".running_mean_after")) <= 1e-4);
          CHECK(testing::rel_error(rv, g.get(cs + ".running_var_after")) <= 1e-4);
        } else if (op == "batch_norm") {
          Tensor rm = g.get(cs + ".running_mean"), rv = g.get(cs + ".running_var");
          double eps = spec.at("eps");
          check_case(
              cs, {"x", "w", "b"}, {true, true, true},
              [&](auto& x) { return ops::batch_norm(x[0], x[1], x[2], rm, rv, false, 0.1, eps); },
              be);
        } else if (op == "layer_norm") {
          double eps = spec.at("eps");
          check_case(
              cs, {"x", "w", "b"}, {true, true, true},
              [=](auto& x) { return ops::layer_norm(x[0], x[1], x[2], eps); }, be);
        } else if (op == "gelu") {
          check_case(
              cs, {"x"}, {true}, [](auto& x) { return ops::gelu(x[0]); }, be);
        } else if (op == "relu") {
          check_case(
              cs, {"x"}, {true}, [](auto& x) { return ops::relu(x[0]); }, be);
        } else if (op == "softmax") {
          check_case(
              cs, {"x"}, {true}, [](auto& x) { return ops::softmax(x[0], -1); }, be);
        } else if (op == "log_softmax") {
          check_case(
              cs, {"x"}, {true}, [](auto& x) { return ops::log_softmax(x[0], -1); }, be);
        } else if (op == "max_pool2d") {
          int64_t k = spec.at("kernel"), s = spec.at("stride"), p = spec.at("padding");
          check_case(
              cs, {"x"}, {true}, [=](auto& x) { return ops::max_pool2d(x[0], k, s, p); }, be);
        } else if (op == "avg_pool2d") {
          int64_t k = spec.at("kernel"), s = spec.at("stride"), p = spec.at("padding");
          check_case(
              cs, {"x"}, {true}, [=](auto& x) { return ops::avg_pool2d(x[0], k, s, p); }, be);
        } else if (op == "adaptive_avg_pool2d") {
          int64_t oh = spec.at("output")[0], ow = spec.at("output")[1];
          check_case(
              cs, {"x"}, {true}, [=](auto& x) { return ops::adaptive_avg_pool2d(x[0], oh, ow); },
              be);
        } else if (op == "cross_entropy") {
          std::string red = spec.at("reduction");
          double ls = spec.value("label_smoothing", 0.0);
          ops::Reduction r = red == "mean"  ? ops::Reduction::Mean
                             : red == "sum" ? ops::Reduction::Sum
                                            : ops::Reduction::None;
          check_case(
              cs, {"x", "target"}, {true, false},
              [=](auto& x) { return ops::cross_entropy(x[0], x[1], r, ls); }, be);
        } else if (op == "multi_head_self_attention") {
          int64_t heads = spec.at("heads");
          check_case(
              cs, {"x", "qkv_w", "qkv_b", "proj_w", "proj_b"}, {true, true, true, true, true},
              [=](auto& x) {
                return ops::multi_head_attention(x[0], x[1], x[2], x[3], x[4], heads);
              },
              be);
        } else {
          FAIL("golden case with an op this test does not know: " << op);
        }
        ++ran;
      }
    }
    // 22 non-optimizer cases per backend.
    CHECK(ran == 22 * static_cast<int>(backend_names().size()));
  }
}
