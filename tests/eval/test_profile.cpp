// The per-layer profiler (engine/profile/layer_profile.h): FLOPs of conv2d and linear equal the
// analytic count forward and backward (only the gradients computed), forward self times add up,
// every leaf layer appears, a head scope leaves every module outside the head without backward
// work, parameter counts match the model, and the report has its peak, JSON keys and CSV rows.
#include <doctest/doctest.h>

#include <chrono>
#include <sstream>

#include "engine/nn/init.h"
#include "engine/nn/layers.h"
#include "engine/ops/ops.h"
#include "engine/optim/optimizer.h"
#include "engine/profile/flop_counter.h"
#include "engine/profile/layer_profile.h"
#include "models/registry.h"
#include "unlearn/scope.h"

using namespace lethe;

namespace {

// The row of a module by dotted name.
const profile::ModuleCost& row(const profile::ProfileReport& r, const std::string& name) {
  for (const auto& m : r.modules)
    if (m.name == name) return m;
  FAIL("no row ", name);
  return r.modules.at(0);
}

bool under(const std::string& name, const std::string& prefix) {
  return name == prefix || name.rfind(prefix + ".", 0) == 0;
}

// One profiled forward + backward of sum(module(x)).
profile::ProfileReport profile_once(nn::Module& m, const Tensor& x) {
  profile::LayerProfiler prof(m);
  prof.start();
  Tensor y = m.forward(x);
  ops::sum(y).backward();
  prof.stop();
  return prof.report();
}

std::shared_ptr<models::Classifier> small_resnet() {
  nn::manual_seed(3);
  return models::build_model(models::config_for("resnet18", 1, 12, 10, {{"width", 4}}));
}

// One profiled training step (forward, cross-entropy, backward) of a classifier; the forward's
// wall time, measured here independently of the profiler, goes to *forward_s.
profile::ProfileReport train_step(models::Classifier& model, int64_t n = 4,
                                  double* forward_s = nullptr) {
  Tensor x = Tensor::uniform({n, 1, 12, 12}, 0, 1, 7);
  std::vector<int64_t> yv;
  for (int64_t i = 0; i < n; ++i) yv.push_back(i % 10);
  Tensor y = Tensor::from_vector_i64({n}, yv);
  model.train(true);
  profile::LayerProfiler prof(model);
  prof.start();
  auto t0 = std::chrono::steady_clock::now();
  Tensor logits = model.forward(x);
  auto t1 = std::chrono::steady_clock::now();
  ops::cross_entropy(logits, y).backward();
  prof.stop();
  if (forward_s) *forward_s = std::chrono::duration<double>(t1 - t0).count();
  model.zero_grad();
  return prof.report();
}

}  // namespace

TEST_SUITE("eval") {
  TEST_CASE("profiler FLOPs of conv2d equal the analytic count, forward and backward") {
    struct Case {
      int64_t n, cin, cout, h, w, k, stride, pad;
      bool bias, input_grad, weight_grad;
    };
    const Case cases[] = {
        {2, 3, 5, 9, 7, 3, 1, 1, true, false, true},  {1, 4, 6, 10, 10, 3, 2, 1, false, true, true},
        {3, 2, 3, 8, 11, 1, 1, 0, true, true, false}, {2, 5, 4, 13, 9, 5, 3, 2, false, false, true},
        {1, 1, 2, 6, 6, 2, 2, 0, true, true, true},
    };
    for (const Case& c : cases) {
      CAPTURE(c.cin);
      CAPTURE(c.k);
      CAPTURE(c.stride);
      nn::manual_seed(1);
      nn::Conv2d conv(c.cin, c.cout, c.k, c.stride, c.pad, c.bias);
      conv.set_requires_grad(c.weight_grad);
      Tensor x = Tensor::uniform({c.n, c.cin, c.h, c.w}, -1, 1, 5);
      x.set_requires_grad(c.input_grad);
      if (!c.input_grad && !c.weight_grad) continue;
      profile::ProfileReport r = profile_once(conv, x);
      const int64_t ho = (c.h + 2 * c.pad - c.k) / c.stride + 1;
      const int64_t wo = (c.w + 2 * c.pad - c.k) / c.stride + 1;
      const double outputs = static_cast<double>(c.n * c.cout * ho * wo);
      const double macs = outputs * c.cin * c.k * c.k;  // multiply-adds of one convolution
      const auto& m = row(r, "");
      CHECK(m.calls == 1);
      CHECK(m.self.fwd_flops == 2 * macs + (c.bias ? outputs : 0));
      double bwd = (c.input_grad ? 2 * macs : 0) + (c.weight_grad ? 2 * macs : 0) +
                   (c.weight_grad && c.bias ? outputs : 0);
      CHECK(m.self.bwd_flops == bwd);
      CHECK(m.self.bwd_nodes == 1);
      CHECK(profile::conv2d_flops(c.n, c.cin, c.cout, ho, wo, c.k, c.bias) ==
            2 * macs + (c.bias ? outputs : 0));
    }
  }

  TEST_CASE("profiler FLOPs of linear equal the analytic count, forward and backward") {
    struct Case {
      Shape x;
      int64_t out;
      bool bias, input_grad, weight_grad;
    };
    const Case cases[] = {{{5, 7}, 3, true, false, true},
                          {{2, 4, 6}, 9, false, true, true},
                          {{3, 8}, 1, true, true, false},
                          {{1, 1}, 4, true, true, true}};
    for (const Case& c : cases) {
      const int64_t in = c.x.back(), rows = shape_numel(c.x) / in;
      CAPTURE(rows);
      CAPTURE(in);
      nn::manual_seed(2);
      nn::Linear lin(in, c.out, c.bias);
      lin.set_requires_grad(c.weight_grad);
      Tensor x = Tensor::uniform(c.x, -1, 1, 6);
      x.set_requires_grad(c.input_grad);
      profile::ProfileReport r = profile_once(lin, x);
      const double macs = static_cast<double>(rows * in * c.out);
      const double outputs = static_cast<double>(rows * c.out);
      const auto& m = row(r, "");
      CHECK(m.self.fwd_flops == 2 * macs + (c.bias ? outputs : 0));
      CHECK(m.self.bwd_flops == (c.input_grad ? 2 * macs : 0) + (c.weight_grad ? 2 * macs : 0) +
                                    (c.weight_grad && c.bias ? outputs : 0));
      // Bytes moved forward: input + output + parameters, f32.
      CHECK(m.self.fwd_bytes ==
            4.0 * (rows * in + rows * c.out + in * c.out + (c.bias ? c.out : 0)));
    }
  }

  TEST_CASE("profiler: self times add up, every leaf layer appears, parameters match") {
    auto model = small_resnet();
    double measured_fwd = 0;
    profile::ProfileReport r = train_step(*model, 4, &measured_fwd);
    double self_sum = 0;
    for (const auto& m : r.modules) {
      CAPTURE(m.name);
      CHECK(m.self.fwd_s >= -1e-9);
      CHECK(m.total.fwd_s >= m.self.fwd_s);
      self_sum += m.self.fwd_s;
      if (m.leaf) {
        CHECK(m.calls >= 1);
        CHECK(m.self.fwd_bytes > 0);
      }
      if (m.type == "Conv2d" || m.type == "Linear") CHECK(m.self.fwd_flops > 0);
    }
    CHECK(self_sum <= r.forward_s * (1 + 1e-9));
    CHECK(r.forward_s <= measured_fwd);  // the model's forward, timed outside the profiler
    CHECK(r.forward_s > 0);
    CHECK(r.forward_s + r.backward_s <= r.wall_s);
    CHECK(r.walks == 1);
    // The root's inclusive forward covers every block it runs; blocks include their layers.
    const auto& blk = row(r, "layer2.0");
    CHECK(blk.total.fwd_flops ==
          row(r, "layer2.0.conv1").self.fwd_flops + row(r, "layer2.0.conv2").self.fwd_flops +
              row(r, "layer2.0.bn1").self.fwd_flops + row(r, "layer2.0.bn2").self.fwd_flops +
              row(r, "layer2.0.downsample").total.fwd_flops);
    CHECK(blk.self.bwd_nodes > 0);   // the residual add and ReLUs are the block's own nodes
    CHECK(r.outside.bwd_nodes > 0);  // the loss and the stem ReLU/pooling

    int64_t own = 0;
    for (const auto& m : r.modules) own += m.params;
    CHECK(own == model->num_parameters());
    CHECK(r.params == model->num_parameters());
    CHECK(r.trainable == model->num_parameters());
    CHECK(row(r, "fc").params_total == model->find_module("fc")->num_parameters());
    CHECK(r.peak_bytes > 0);
  }

  TEST_CASE("profiler: a head scope leaves every module outside the head without backward") {
    auto model = small_resnet();
    profile::ProfileReport all = train_step(*model, 6);
    unlearn::apply_scope(*model, "head");
    profile::ProfileReport head = train_step(*model, 6);
    const auto* fc = dynamic_cast<nn::Linear*>(model->find_module("fc"));
    REQUIRE(fc);
    for (const auto& m : head.modules) {
      if (m.name.empty() || under(m.name, "fc")) continue;
      CAPTURE(m.name);
      CHECK(m.total.bwd_s == 0);
      CHECK(m.total.bwd_flops == 0);
      CHECK(m.total.bwd_nodes == 0);
      CHECK(m.total.act_bytes == 0);
      CHECK(m.trainable_total == 0);
      // The same forward work, except that frozen BatchNorm layers run in eval mode (unlearn/
      // scope.h): 2 FLOPs per element instead of training's 5, and no statistic updated.
      const auto& a = row(all, m.name);
      if (m.type == "BatchNorm2d")
        CHECK(m.total.fwd_flops * 5 == a.total.fwd_flops * 2);
      else if (m.leaf)
        CHECK(m.total.fwd_flops == a.total.fwd_flops);
      else
        CHECK(m.total.fwd_flops < a.total.fwd_flops);  // holds BatchNorm layers
    }
    // The head computes dW and db only (its input, the frozen features, needs no gradient).
    const auto& h = row(head, "fc");
    const double n = 6, in = static_cast<double>(fc->in_features), out = fc->out_features;
    CHECK(h.self.bwd_nodes == 1);
    CHECK(h.self.bwd_flops == 2 * n * in * out + n * out);
    CHECK(row(all, "fc").self.bwd_flops == 4 * n * in * out + n * out);
    CHECK(h.self.act_bytes == 4 * n * in);  // the features it keeps for dW
    CHECK(head.trainable == fc->num_parameters());
    CHECK(row(head, "").total.bwd_flops < row(all, "").total.bwd_flops / 10);

    // last:1: everything before the last block is frozen and has no backward either.
    model->set_requires_grad(true);
    unlearn::apply_scope(*model, "last:1");
    profile::ProfileReport last = train_step(*model, 6);
    for (const auto& m : last.modules) {
      CAPTURE(m.name);
      bool in_scope = under(m.name, "layer4.1") || under(m.name, "fc");
      if (!m.name.empty() && !in_scope && m.name != "layer4") CHECK(m.total.bwd_nodes == 0);
      if (m.name == "layer4.1.conv1") CHECK(m.self.bwd_flops > 0);
    }
  }

  TEST_CASE("profiler report: JSON keys, CSV rows, peak memory") {
    auto model = small_resnet();
    profile::ProfileReport r = train_step(*model);
    nlohmann::json j = r.to_json();
    for (const char* k : {"wall_s", "forward_s", "backward_s", "unattributed_s", "backward_walks",
                          "peak_bytes", "params", "trainable_params", "outside_modules", "modules"})
      CHECK_MESSAGE(j.contains(k), k);
    CHECK(j["peak_bytes"].get<size_t>() > 0);
    REQUIRE(j["modules"].size() == r.modules.size());
    const auto& m0 = j["modules"][1];
    for (const char* k : {"name", "type", "depth", "leaf", "calls", "params", "trainable_params",
                          "self", "total", "share"})
      CHECK_MESSAGE(m0.contains(k), k);
    for (const char* k : {"fwd_s", "bwd_s", "fwd_flops", "bwd_flops", "fwd_bytes", "bwd_bytes",
                          "activation_bytes", "bwd_nodes"})
      CHECK_MESSAGE(m0["total"].contains(k), k);

    std::istringstream csv(r.to_csv());
    std::string header, line;
    std::getline(csv, header);
    CHECK(header.rfind("name,type,depth,calls,params,trainable_params,fwd_ms,", 0) == 0);
    size_t rows = 0, cols = std::count(header.begin(), header.end(), ',');
    while (std::getline(csv, line)) {
      ++rows;
      CHECK(static_cast<size_t>(std::count(line.begin(), line.end(), ',')) == cols);
    }
    CHECK(rows == r.modules.size() + 1);  // + the outside row
    CHECK(r.table().find("layer4.1.conv2") != std::string::npos);
  }
}

// The whole-run counter (engine/profile/flop_counter.h) and the optimizer-state column.
TEST_SUITE("eval") {
  TEST_CASE("flop counter: a training step's FLOPs equal the layer profiler's, peak ≥ start") {
    auto model = small_resnet();
    profile::ProfileReport r = train_step(*model, 5);
    // The same step again under the counter (FLOP counts depend on shapes only).
    Tensor x = Tensor::uniform({5, 1, 12, 12}, 0, 1, 7);
    Tensor y = Tensor::from_vector_i64({5}, {0, 1, 2, 3, 4});
    profile::FlopCounter fc;
    ops::cross_entropy(model->forward(x), y).backward();
    fc.stop();
    model->zero_grad();
    const profile::Cost& all = r.modules.at(0).total;
    CHECK(fc.forward_flops() > 0);
    CHECK(fc.forward_flops() == all.fwd_flops);
    CHECK(fc.backward_flops() == all.bwd_flops + r.outside.bwd_flops);
    CHECK(fc.peak_bytes() > fc.start_bytes());  // the step's activations
    // Stopped: later work is not counted.
    const double before = fc.forward_flops();
    model->forward(x);
    CHECK(fc.forward_flops() == before);
  }

  TEST_CASE("profiler: optimizer-state bytes per layer (SGD momentum: one buffer per weight)") {
    auto model = small_resnet();
    unlearn::apply_scope(*model, "last:1");
    optim::SGD opt(unlearn::trainable_parameters(*model), {.lr = 0.01, .momentum = 0.9});
    optim::SGD plain(unlearn::trainable_parameters(*model), {.lr = 0.01});  // no state
    Tensor x = Tensor::uniform({4, 1, 12, 12}, 0, 1, 7);
    Tensor y = Tensor::from_vector_i64({4}, {0, 1, 2, 3});
    model->train(true);
    profile::LayerProfiler prof(*model);
    prof.start();
    ops::cross_entropy(model->forward(x), y).backward();
    plain.step();
    opt.step();
    prof.stop();
    opt.step();  // outside the profiler: not seen
    profile::ProfileReport r = prof.report();
    for (const auto& m : r.modules) {
      CAPTURE(m.name);
      double own_trainable_bytes = 0;
      for (const auto& [n, p] : model->find_module(m.name)->named_parameters())
        if (n.find('.') == std::string::npos && p.requires_grad())
          own_trainable_bytes += static_cast<double>(p.nbytes());
      CHECK(m.self.opt_bytes == own_trainable_bytes);
    }
    CHECK(row(r, "layer1").total.opt_bytes == 0);  // frozen
    CHECK(row(r, "fc").self.opt_bytes > 0);
    CHECK(row(r, "").total.opt_bytes ==
          row(r, "layer4.1").total.opt_bytes + row(r, "fc").total.opt_bytes);
    CHECK(r.to_csv().find("opt_state_mb") != std::string::npos);
    CHECK(r.to_json()["modules"][0]["total"].contains("optimizer_state_bytes"));
  }
}
