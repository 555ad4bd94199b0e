// Optimizers against torch.optim (golden cases optim.* of ops.safetensors: two steps from p0
// with gradients g1 then g2, expecting p1 then p2; PyTorch computed in float64). Tolerance:
// |ours − torch| <= 1e-6 · max(1, |torch|) per element, i.e. a few float32 ulps at these
// magnitudes (|p| ~ 1): the update is elementwise, so only rounding separates the two.
#include <doctest/doctest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "engine/optim/optimizer.h"

using namespace lethe;

namespace {

struct OptimGolden {
  io::SafetensorsFile f;
  nlohmann::json manifest;
  OptimGolden() {
    f = io::read_safetensors(LETHE_TEST_DATA_DIR "/golden/ops.safetensors");
    manifest = nlohmann::json::parse(f.metadata.at("manifest"));
  }
  Tensor get(const std::string& name) const {
    auto it = f.tensors.find(name);
    LETHE_CHECK(it != f.tensors.end(), "golden: missing tensor ", name);
    return Tensor::from_vector(it->second.shape, io::to_f32(it->second, name));
  }
};

const OptimGolden& golden() {
  static OptimGolden g;
  return g;
}

std::unique_ptr<optim::Optimizer> make(const std::string& kind, const nlohmann::json& h,
                                       std::vector<Tensor> params) {
  if (kind == "sgd" || kind == "sgd_nesterov") {
    optim::SgdOptions o;
    o.lr = h.at("lr");
    o.momentum = h.at("momentum");
    o.dampening = h.at("dampening");
    o.weight_decay = h.at("weight_decay");
    o.nesterov = h.at("nesterov");
    return std::make_unique<optim::SGD>(std::move(params), o);
  }
  optim::AdamOptions o;
  o.lr = h.at("lr");
  o.beta1 = h.at("betas")[0];
  o.beta2 = h.at("betas")[1];
  o.eps = h.at("eps");
  o.weight_decay = h.at("weight_decay");
  o.amsgrad = h.at("amsgrad");
  if (kind == "adamw") return std::make_unique<optim::AdamW>(std::move(params), o);
  return std::make_unique<optim::Adam>(std::move(params), o);
}

double worst(const Tensor& got, const Tensor& want) {
  auto a = got.to_vector(), b = want.to_vector();
  REQUIRE(a.size() == b.size());
  double w = 0;
  for (size_t i = 0; i < a.size(); ++i)
    w = std::max(w, std::fabs(double(a[i]) - b[i]) / std::max(1.0, std::fabs(double(b[i]))));
  return w;
}

void run_case(const std::string& kind) {
  const OptimGolden& g = golden();
  const std::string cs = "optim." + kind;
  CAPTURE(cs);
  REQUIRE(g.manifest.contains(cs));
  const nlohmann::json& h = g.manifest.at(cs).at("hyper");
  CHECK_FALSE(h.value("maximize", false));
  Tensor p = g.get(cs + ".p0").clone();
  p.set_requires_grad(true);
  // A second parameter without a gradient and a frozen one must not move (PyTorch skips them).
  Tensor idle = Tensor::ones({3}), frozen = Tensor::ones({3});
  idle.set_requires_grad(true);
  frozen.set_grad(Tensor::ones({3}));
  auto opt = make(kind, h, {p, idle, frozen});
  CHECK(opt->lr() == doctest::Approx(double(h.at("lr"))));
  for (int s = 1; s <= 2; ++s) {
    p.set_grad(g.get(cs + ".g" + std::to_string(s)));
    opt->step();
    double err = worst(p, g.get(cs + ".p" + std::to_string(s)));
    CAPTURE(s);
    CHECK(err <= 1e-6);
  }
  CHECK(idle.to_vector() == std::vector<float>(3, 1.0f));
  CHECK(frozen.to_vector() == std::vector<float>(3, 1.0f));
  CHECK(opt->state(idle).empty());
  CHECK(opt->step_count(p) == 2);
  CHECK(opt->step_count(idle) == 0);
  opt->zero_grad();
  CHECK_FALSE(p.grad().defined());
}

}  // namespace

TEST_SUITE("golden") {
  TEST_CASE("optim: SGD with momentum and weight decay matches torch.optim.SGD") {
    run_case("sgd");
  }
  TEST_CASE("optim: Nesterov SGD matches torch.optim.SGD(nesterov=True)") {
    run_case("sgd_nesterov");
  }
  TEST_CASE("optim: Adam matches torch.optim.Adam") {
    run_case("adam");
  }
  TEST_CASE("optim: AdamW matches torch.optim.AdamW") {
    run_case("adamw");
  }

  TEST_CASE("optim: SGD momentum buffer is exposed and editable") {
    // First step: buf = g (no dampening); second: buf = m·buf + (1 − d)·g.
    Tensor p = Tensor::zeros({2});
    p.set_requires_grad(true);
    optim::SgdOptions o;
    o.lr = 1.0;
    o.momentum = 0.5;
    o.dampening = 0.5;
    optim::SGD sgd({p}, o);
    CHECK_FALSE(sgd.momentum_buffer(p).defined());
    p.set_grad(Tensor::from_vector({2}, {1.0f, 2.0f}));
    sgd.step();
    CHECK(sgd.momentum_buffer(p).to_vector() == std::vector<float>{1.0f, 2.0f});
    CHECK(p.to_vector() == std::vector<float>{-1.0f, -2.0f});
    sgd.momentum_buffer(p).fill_(0.0);  // SalUn-style masking edits state in place
    sgd.step();
    CHECK(sgd.momentum_buffer(p).to_vector() == std::vector<float>{0.5f, 1.0f});
    CHECK(p.to_vector() == std::vector<float>{-1.5f, -3.0f});
    sgd.set_lr(0.0);
    sgd.step();
    CHECK(p.to_vector() == std::vector<float>{-1.5f, -3.0f});
    CHECK_THROWS_AS(sgd.state(Tensor::zeros({2})), Error);
    Tensor q = Tensor::zeros({2});
    CHECK_THROWS_AS(optim::SGD({q, q}, o), Error);
  }
}
