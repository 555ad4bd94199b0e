// salun, amun and amun-salun on a width-4 ResNet-18 (ImageNet stem, for speed; an MLP for the
// scope matrix) trained here on 300 Fashion-MNIST images:
// AMUN's adversarial examples are misclassified by the original model and lie within their ε in
// [0,1]; SalUn's masked-out coordinates stay bit-identical; every method runs with and without the
// retain set and with the scopes head and last:1, leaving parameters outside the scope untouched.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "data/normalization.h"
#include "data/spec.h"
#include "engine/nn/init.h"
#include "eval/attacks/pgd.h"
#include "models/registry.h"
#include "train/trainer.h"
#include "unlearn/amun.h"
#include "unlearn/registry.h"
#include "unlearn/saliency.h"
#include "unlearn/scope.h"

using namespace lethe;
using namespace lethe::unlearn;

namespace {

struct Original {
  data::DataSplit ds;
  data::Dataset small;  // 300 training images
  models::ModelConfig cfg, mlp_cfg;
  std::map<std::string, Tensor> state, mlp_state;  // the trained weights
  data::Normalization norm;
};

Original* original() {
  static std::unique_ptr<Original> o = [] {
    REQUIRE_MESSAGE(std::filesystem::exists(data::kFashionMnistDir),
                    "Fashion-MNIST is not installed in " << data::kFashionMnistDir
                                                         << " (make deps installs it)");
    auto r = std::make_unique<Original>();
    r->ds = data::load_dataset("fashion-mnist", 0);
    std::vector<int64_t> idx(300);
    for (int64_t i = 0; i < 300; ++i) idx[i] = i;
    r->small = r->ds.train.subset(idx);
    r->norm = data::Normalization::from_dataset(r->ds.train);
    r->cfg = models::config_for("resnet18", 1, 28, 10, {{"width", 4}, {"stem", "imagenet"}});
    r->mlp_cfg =
        models::config_for("mlp", 1, 28, 10, {{"hidden", nlohmann::json::array({32, 32})}});
    auto fit = [&](const models::ModelConfig& cfg, std::map<std::string, Tensor>& state) {
      nn::manual_seed(2);
      auto m = models::build_model(cfg);
      optim::SgdOptions so;
      so.lr = 0.05;
      so.momentum = 0.9;
      optim::SGD opt(m->parameters(), so);
      train::EpochOptions eo;
      eo.batch = 50;
      for (int e = 0; e < 10; ++e)
        train::train_epoch(*m, opt, r->small, idx, r->norm, eo, e, nullptr);
      for (auto& [n, t] : m->state_dict()) state.emplace(n, t.clone());
    };
    fit(r->cfg, r->state);
    fit(r->mlp_cfg, r->mlp_state);
    return r;
  }();
  return o.get();
}

// A fresh copy of the trained model and a context forgetting every 10th image.
struct Setup {
  PhaseTimer timer;
  UnlearnContext ctx;
};

std::unique_ptr<Setup> make_setup(Original& o, bool no_retain, const std::string& scope,
                                  int64_t epochs, bool mlp = false) {
  auto s = std::make_unique<Setup>();
  UnlearnContext& c = s->ctx;
  c.model_config = mlp ? o.mlp_cfg : o.cfg;
  c.model = models::build_model(c.model_config);
  c.model->load_state_dict(mlp ? o.mlp_state : o.state);
  c.train = &o.small;
  c.test = &o.ds.test;
  for (int64_t i = 0; i < o.small.size(); ++i)
    (i % 10 == 3 ? c.split.forget : c.split.retain).push_back(i);
  if (no_retain) c.split.retain.clear();
  c.norm = o.norm;
  c.original_config = {{"augment", "crop"}};
  c.opt.epochs = epochs;
  c.opt.batch = 64;
  c.opt.no_retain = no_retain;
  c.opt.layers = scope;
  c.timer = &s->timer;
  apply_scope(*c.model, scope);
  return s;
}

std::vector<float> values(const Tensor& t) {
  return t.to_vector();
}

bool bit_identical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_SUITE("unlearn") {
  TEST_CASE("amun: adversarial examples are misclassified, within their eps, in [0,1]") {
    Original* o = original();
    auto s = make_setup(*o, false, "all", 1);
    UnlearnContext& c = s->ctx;
    c.split.forget.resize(16);  // the full 50-step search on a few samples keeps this quick
    AdversarialSet a = amun_adversarial_set(c);
    REQUIRE(a.x.size(0) == static_cast<int64_t>(c.split.forget.size()));
    CHECK(a.search.never_flipped == 0);
    // Judged by the original model, rebuilt from the saved weights.
    auto orig = models::build_model(o->cfg);
    orig->load_state_dict(o->state);
    std::vector<int64_t> pred = eval::predict(*orig, o->norm, a.x);
    std::vector<float> adv = a.x.to_vector();
    const int64_t per = o->small.sample_numel();
    const uint8_t* src = o->small.images.data<uint8_t>();
    const int64_t* lab = o->small.labels.data<int64_t>();
    std::vector<int64_t> ay = a.y.to_vector_i64();
    for (size_t i = 0; i < a.sources.size(); ++i) {
      int64_t row = a.sources[i];
      CHECK(pred[i] != lab[row]);
      CHECK(ay[i] == pred[i]);
      double d2 = 0;
      for (int64_t j = 0; j < per; ++j) {
        float v = adv[i * per + j];
        CHECK_MESSAGE((v >= 0.f && v <= 1.f), "pixel outside [0,1]");
        double d = v - src[row * per + j] / 255.0;
        d2 += d * d;
      }
      CHECK(std::sqrt(d2) <= a.search.eps[i] * (1 + 1e-5) + 1e-6);
    }
    nlohmann::json sum = summarize_search(a.search);
    MESSAGE("search: " << sum.dump());
    CHECK(sum["count"] == a.sources.size());
    // The search moves exactly the samples the original classified correctly (a misclassified
    // one is its own adversarial point), and there were some.
    std::vector<float> clean(a.sources.size() * static_cast<size_t>(per));
    for (size_t i = 0; i < a.sources.size(); ++i)
      for (int64_t j = 0; j < per; ++j) clean[i * per + j] = src[a.sources[i] * per + j] / 255.0f;
    Shape cs = a.x.shape();
    std::vector<int64_t> pred0 = eval::predict(*orig, o->norm, Tensor::from_vector(cs, clean));
    int64_t moved = 0, correct = 0;
    for (size_t i = 0; i < a.sources.size(); ++i) {
      moved += a.search.dist[i] > 0;
      correct += pred0[i] == lab[a.sources[i]];
      CHECK((a.search.dist[i] > 0) == (pred0[i] == lab[a.sources[i]]));
    }
    INFO("moved ", moved, " of ", a.search.dist.size());
    CHECK(moved == correct);
    CHECK(moved > 0);
  }

  TEST_CASE("salun and amun-salun leave masked-out coordinates bit-identical") {
    Original* o = original();
    for (std::string method : {"salun", "amun-salun"}) {
      CAPTURE(method);
      auto s = make_setup(*o, false, "all", 1);
      UnlearnContext& c = s->ctx;
      c.opt.extra = {{"steps", 10}};              // a shorter adversarial search suffices here
      SaliencyMask mask = saliency_mask(c, 0.5);  // the mask the method will compute
      CHECK(mask.kept == std::llround(0.5 * mask.total));
      std::vector<std::vector<float>> before;
      for (const Tensor& p : mask.params) before.push_back(values(p));
      make_method(method)->run(c);
      CHECK(c.report["saliency_mask"]["kept"] == mask.kept);
      int64_t changed_in = 0, changed_out = 0;
      for (size_t i = 0; i < mask.params.size(); ++i) {
        std::vector<float> after = values(mask.params[i]);
        for (size_t j = 0; j < after.size(); ++j) {
          bool same = std::memcmp(&after[j], &before[i][j], sizeof(float)) == 0;
          if (mask.keep[i][j])
            changed_in += !same;
          else
            changed_out += !same;
        }
      }
      MESSAGE(method << ": " << changed_in << " of " << mask.kept << " kept coordinates changed");
      CHECK(changed_out == 0);
      CHECK(changed_in > mask.kept / 2);
    }
  }

  TEST_CASE("saliency ranking: exact count, ties by index, largest |g| kept") {
    SaliencyMask m;
    m.params = {Tensor::zeros({4}), Tensor::zeros({2, 2})};
    std::vector<Tensor> g = {Tensor::from_vector({4}, {0.1f, -5.f, 1.f, 1.f}),
                             Tensor::from_vector({2, 2}, {1.f, -1.f, 0.f, 3.f})};
    rank_saliency(m, g, 0.5);  // keep 4 of 8: |-5|, 3, then the first two of the four 1s
    CHECK(m.kept == 4);
    CHECK(m.keep[0] == std::vector<uint8_t>{0, 1, 1, 1});
    CHECK(m.keep[1] == std::vector<uint8_t>{0, 0, 0, 1});
  }

  TEST_CASE("salun, amun, amun-salun: with/without retain, scopes head and last:1") {
    Original* o = original();
    for (std::string method : {"salun", "amun", "amun-salun"})
      for (bool no_retain : {false, true})
        for (std::string scope : {"all", "head", "last:1"}) {
          CAPTURE(method);
          CAPTURE(no_retain);
          CAPTURE(scope);
          // The MLP keeps these 18 runs fast; the ResNet cases above cover batch norm.
          auto s = make_setup(*o, no_retain, scope, 1, /*mlp=*/true);
          UnlearnContext& c = s->ctx;
          if (method != "salun") c.opt.extra = {{"steps", 10}};  // a shorter search suffices here
          std::vector<std::pair<std::string, std::vector<float>>> frozen;
          std::vector<std::string> trainable;
          for (auto& [n, p] : c.model->named_parameters()) {
            if (!p.requires_grad())
              frozen.emplace_back(n, values(p));
            else
              trainable.push_back(n);
          }
          if (scope != "all") CHECK(!frozen.empty());
          std::unique_ptr<Method> m = make_method(method);
          CHECK(m->supports_no_retain());
          m->run(c);
          std::map<std::string, Tensor> now;
          for (auto& [n, p] : c.model->named_parameters()) now.emplace(n, p);
          for (auto& [n, v] : frozen) CHECK_MESSAGE(bit_identical(values(now.at(n)), v), n);
          bool any_changed = false;
          for (const std::string& n : trainable)
            any_changed |= !bit_identical(values(now.at(n)), values(o->mlp_state.at(n)));
          CHECK(any_changed);
          nlohmann::json phases = s->timer.to_json();
          if (method != "salun") CHECK(phases.contains("adversarial search"));
          if (method != "amun") CHECK(phases.contains("mask"));
        }
  }

  TEST_CASE("amun --opt train_on: forget_adv is D_F ∪ D_A, adv is D_A alone (AMUN's ablation)") {
    Original* o = original();
    auto run = [&](bool no_retain, const std::string& train_on) {
      auto s = make_setup(*o, no_retain, "all", 1, /*mlp=*/true);
      s->ctx.opt.extra = {{"steps", 10}, {"train_on", train_on}};
      make_method("amun")->run(s->ctx);
      CHECK(s->ctx.report.at("train_on") == train_on);
      std::map<std::string, std::vector<float>> out;
      for (auto& [n, p] : s->ctx.model->named_parameters()) out.emplace(n, values(p));
      return out;
    };
    const auto forget_adv = run(false, "forget_adv");
    const auto all_no_retain = run(true, "all");  // the same stream: D_F ∪ D_A, same seed
    const auto adv = run(false, "adv");
    const auto all = run(false, "all");
    bool same = true, adv_differs = false, all_differs = false;
    for (const auto& [n, v] : forget_adv) {
      same = same && bit_identical(v, all_no_retain.at(n));
      adv_differs = adv_differs || !bit_identical(v, adv.at(n));
      all_differs = all_differs || !bit_identical(v, all.at(n));
    }
    CHECK(same);
    CHECK(adv_differs);
    CHECK(all_differs);
    auto s = make_setup(*o, false, "all", 1, true);
    s->ctx.opt.extra = {{"train_on", "retain"}};
    CHECK_THROWS_WITH(make_method("amun")->run(s->ctx), doctest::Contains("--opt train_on=retain"));
  }
}
