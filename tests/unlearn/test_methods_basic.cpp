// rl, ga, l1, bs and be on a small MLP trained here on a synthetic 4-class mixture (and bs/be on a
// width-4 ResNet-18 over 100 Fashion-MNIST images): each runs with and without the retain set
// (a lethe::Error where D_R is required) and with the scopes head and last:1, leaving parameters
// outside the scope bit-identical; rl never draws the true label; ga raises the forget loss; l1
// ends with a smaller ‖θ‖₁ than ft; be leaves a K-output head.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>

#include "data/normalization.h"
#include "data/spec.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"
#include "eval/predict.h"
#include "models/registry.h"
#include "tests/support/learning.h"
#include "train/trainer.h"
#include "unlearn/registry.h"
#include "unlearn/scope.h"

using namespace lethe;
using namespace lethe::unlearn;

namespace lethe::unlearn {
// unlearn/random_labels.cpp: the label rl draws for forget row `index` (true label y) in `epoch`.
int64_t rl_label(uint64_t seed, int64_t index, int64_t y, int64_t epoch, int64_t k);
// The same file: --opt schedule=salun's draw, uniform over all k classes.
int64_t rl_label_any(uint64_t seed, int64_t index, int64_t epoch, int64_t k);
}  // namespace lethe::unlearn

namespace {

struct Original {
  data::DataSplit ds;
  data::Dataset train;  // the rows the model was trained on
  models::ModelConfig cfg;
  std::map<std::string, Tensor> state;  // the trained weights
  data::Normalization norm;
};

Original train_original(data::DataSplit ds, data::Dataset train, models::ModelConfig cfg,
                        int epochs, double lr, int64_t batch) {
  Original r;
  r.ds = std::move(ds);
  r.train = std::move(train);
  r.cfg = cfg;
  r.norm = data::Normalization::from_dataset(r.train);
  nn::manual_seed(3);
  auto m = models::build_model(r.cfg);
  optim::SgdOptions so;
  so.lr = lr;
  so.momentum = 0.9;
  optim::SGD opt(m->parameters(), so);
  train::EpochOptions eo;
  eo.batch = batch;
  std::vector<int64_t> idx = data::all_indices(r.train);
  for (int e = 0; e < epochs; ++e)
    train::train_epoch(*m, opt, r.train, idx, r.norm, eo, e, nullptr);
  for (auto& [n, t] : m->state_dict()) r.state.emplace(n, t.clone());
  return r;
}

// An MLP on 8-feature, 4-class synthetic data (480 training rows): trains in well under a second.
Original& mlp_original() {
  static Original o = [] {
    data::DataSplit ds = data::load_dataset("synthetic:mixture:4:8:600:sep=1", 0);
    data::Dataset tr = ds.train;
    auto cfg = models::config_for("mlp", 8, 1, 4, {{"hidden", {32, 32}}});
    return train_original(std::move(ds), std::move(tr), cfg, 20, 0.05, 64);
  }();
  return o;
}

// A width-4 ResNet-18 briefly trained on 100 Fashion-MNIST images (make deps installs the data;
// a missing dataset fails the test).
Original* image_original() {
  static std::unique_ptr<Original> o = [] {
    REQUIRE_MESSAGE(std::filesystem::exists(data::kFashionMnistDir),
                    "Fashion-MNIST is not installed in " << data::kFashionMnistDir
                                                         << " (make deps installs it)");
    data::DataSplit ds = data::load_dataset("fashion-mnist", 0);
    std::vector<int64_t> idx(100);
    for (int64_t i = 0; i < 100; ++i) idx[i] = i;
    data::Dataset small = ds.train.subset(idx);
    auto cfg = models::config_for("resnet18", 1, 28, 10, {{"width", 4}});
    return std::make_unique<Original>(
        train_original(std::move(ds), std::move(small), cfg, 2, 0.05, 50));
  }();
  return o.get();
}

struct Setup {
  PhaseTimer timer;
  UnlearnContext ctx;
  std::map<std::string, Tensor> before;  // parameter values before the method
  std::map<std::string, bool> in_scope;  // requires_grad after apply_scope
};

// A fresh copy of the trained model and a context forgetting every 10th row.
std::unique_ptr<Setup> make_setup(Original& o, bool no_retain, const std::string& scope,
                                  int64_t epochs = -1, double lr = -1) {
  auto s = std::make_unique<Setup>();
  UnlearnContext& c = s->ctx;
  c.model = models::build_model(o.cfg);
  c.model->load_state_dict(o.state);
  c.model_config = o.cfg;
  c.train = &o.train;
  c.test = &o.ds.test;
  for (int64_t i = 0; i < o.train.size(); ++i)
    (i % 10 == 3 ? c.split.forget : c.split.retain).push_back(i);
  if (no_retain) c.split.retain.clear();
  c.norm = o.norm;
  c.original_config = {{"augment", "none"}};
  c.opt.epochs = epochs;
  c.opt.lr = lr;
  c.opt.batch = 64;
  c.opt.seed = 5;
  c.opt.no_retain = no_retain;
  c.opt.layers = scope;
  c.timer = &s->timer;
  apply_scope(*c.model, scope);
  for (auto& [n, p] : c.model->named_parameters()) {
    s->before.emplace(n, p.detach().clone());
    s->in_scope.emplace(n, p.requires_grad());
  }
  return s;
}

bool bit_identical(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data<float>(), b.data<float>(), a.nbytes()) == 0;
}

// Parameters outside the scope are bit-identical; at least one inside it changed.
void check_scope(const Setup& s) {
  int64_t changed_in_scope = 0;
  for (auto& [n, p] : s.ctx.model->named_parameters()) {
    bool same = bit_identical(p.detach().clone(), s.before.at(n));
    if (!s.in_scope.at(n)) {
      INFO("frozen parameter " << n);
      CHECK(same);
    } else {
      changed_in_scope += !same;
    }
  }
  CHECK(changed_in_scope > 0);
}

double l1_of(const models::Classifier& m) {
  double s = 0;
  for (auto& [n, p] : m.named_parameters())
    for (float v : p.to_vector()) s += std::abs(v);
  return s;
}

// Mean cross-entropy over the forget rows, eval mode.
double forget_loss(Setup& s) {
  auto& c = s.ctx;
  Tensor logits = eval::predict_logits(*c.model, *c.train, c.split.forget, c.norm);
  std::vector<int64_t> y;
  for (int64_t i : c.split.forget) y.push_back(c.train->labels.data<int64_t>()[i]);
  NoGradGuard ng;
  return ops::cross_entropy(logits, Tensor::from_vector_i64({static_cast<int64_t>(y.size())}, y))
      .item();
}

// Runs `method` with retain, without (error when D_R is required), and on the scopes head and
// last:1, checking the scope each time.
void run_all_modes(Original& o, const std::string& method, int64_t epochs = -1, double lr = -1) {
  for (const std::string scope : {"all", "head", "last:1"}) {
    CAPTURE(scope);
    auto s = make_setup(o, false, scope, epochs, lr);
    make_method(method)->run(s->ctx);
    check_scope(*s);
  }
  auto m = make_method(method);
  auto s = make_setup(o, true, "all", epochs, lr);
  if (m->supports_no_retain()) {
    m->run(s->ctx);
    check_scope(*s);
  } else {
    CHECK_THROWS_AS(m->run(s->ctx), lethe::Error);
  }
}

}  // namespace

TEST_SUITE("unlearn") {
  TEST_CASE("rl, ga, l1, bs and be are registered") {
    std::vector<std::string> names = method_names();
    for (const char* n : {"rl", "ga", "l1", "bs", "be"}) {
      CAPTURE(n);
      CHECK(std::find(names.begin(), names.end(), n) != names.end());
      CHECK(make_method(n)->name() == n);
    }
    CHECK_FALSE(make_method("l1")->supports_no_retain());
    CHECK(make_method("rl")->supports_no_retain());
    CHECK(make_method("ga")->supports_no_retain());
    CHECK(make_method("bs")->supports_no_retain());
    CHECK(make_method("be")->supports_no_retain());
  }

  TEST_CASE("rl: every scope and --no-retain; the drawn label is never the true one") {
    Original& o = mlp_original();
    run_all_modes(o, "rl", 2);
    auto s = make_setup(o, false, "all", 3);
    make_method("rl")->run(s->ctx);
    CHECK(s->ctx.report.at("labels_equal_to_true").get<int64_t>() == 0);
    // Every forget row is relabelled once per epoch (480 rows, batch 64: no batch is skipped).
    CHECK(s->ctx.report.at("labels_drawn").get<int64_t>() ==
          3 * static_cast<int64_t>(s->ctx.split.forget.size()));
    // The draw itself: never y, every wrong class occurs, and it is redrawn per epoch.
    const int64_t k = 10;
    std::vector<int64_t> count(k, 0);
    int64_t redrawn = 0;
    for (int64_t i = 0; i < 2000; ++i) {
      int64_t y = i % k;
      int64_t a = rl_label(7, i, y, 0, k), b = rl_label(7, i, y, 1, k);
      REQUIRE(a != y);
      REQUIRE(a >= 0);
      REQUIRE(a < k);
      CHECK(rl_label(7, i, y, 0, k) == a);  // deterministic
      ++count[(a - y + k) % k];
      redrawn += a != b;
    }
    CHECK(count[0] == 0);
    for (int64_t d = 1; d < k; ++d) CHECK(count[d] > 2000 / 9 / 2);
    CHECK(redrawn > 1000);
  }

  TEST_CASE("ga: every scope and --no-retain; the forget loss rises") {
    Original& o = mlp_original();
    run_all_modes(o, "ga");
    for (bool no_retain : {true, false}) {
      CAPTURE(no_retain);
      // Defaults (lr 1e-4, 5 epochs) without D_R; with D_R a larger lr so the ascent is visible
      // next to the descent passes.
      auto s = make_setup(o, no_retain, "all", -1, no_retain ? -1 : 1e-2);
      double before = forget_loss(*s);
      make_method("ga")->run(s->ctx);
      double after = forget_loss(*s);
      MESSAGE("ga forget loss " << before << " -> " << after);
      CHECK(after > before);
      CHECK(s->ctx.report.at("forget_loss_before").get<double>() == doctest::Approx(before));
      CHECK(s->ctx.report.at("forget_loss_after").get<double>() == doctest::Approx(after));
    }
  }

  TEST_CASE("l1: every scope; needs D_R; ends with a smaller ‖θ‖₁ than ft") {
    Original& o = mlp_original();
    run_all_modes(o, "l1", 3);
    auto ft = make_setup(o, false, "all", 10);
    make_method("ft")->run(ft->ctx);
    auto l1 = make_setup(o, false, "all", 10);
    make_method("l1")->run(l1->ctx);
    auto l0 = make_setup(o, false, "all", 10);
    l0->ctx.opt.extra["alpha"] = 0.0;
    make_method("l1")->run(l0->ctx);
    double n_ft = l1_of(*ft->ctx.model), n_l1 = l1_of(*l1->ctx.model), n_l0 = l1_of(*l0->ctx.model);
    MESSAGE("‖θ‖₁: original " << l1->ctx.report.at("l1_before").get<double>() << ", ft " << n_ft
                              << ", l1 α=0 " << n_l0 << ", l1 " << n_l1);
    CHECK(n_l1 < n_ft);
    CHECK(n_l1 < n_l0);  // the penalty alone makes the difference
    CHECK(l1->ctx.report.at("l1_after").get<double>() == doctest::Approx(n_l1).epsilon(1e-4));
  }

  TEST_CASE("bs: every scope and --no-retain on tabular features; FGSM on images") {
    Original& o = mlp_original();
    run_all_modes(o, "bs", 2);
    // A large bound in feature space crosses the boundary for most rows.
    auto s = make_setup(o, false, "all", 1);
    s->ctx.opt.extra["bound"] = 3.0;
    make_method("bs")->run(s->ctx);
    CHECK(s->ctx.report.at("fgsm_moved").get<int64_t>() > 0);
    // nearest_wrong: every forget row gets a wrong label.
    auto w = make_setup(o, false, "all", 1);
    w->ctx.opt.extra["nearest_wrong"] = 1.0;
    make_method("bs")->run(w->ctx);
    CHECK(w->ctx.report.at("fgsm_moved").get<int64_t>() +
              w->ctx.report.at("runner_up_labels").get<int64_t>() ==
          static_cast<int64_t>(w->ctx.split.forget.size()));

    Original* img = image_original();
    auto si = make_setup(*img, true, "last:1", 1);
    make_method("bs")->run(si->ctx);
    check_scope(*si);
    MESSAGE("bs on images: FGSM moved " << si->ctx.report.at("fgsm_moved").get<int64_t>() << " of "
                                        << si->ctx.split.forget.size());
    CHECK(si->ctx.report.at("fgsm_moved").get<int64_t>() > 0);
  }

  TEST_CASE("be: every scope and --no-retain; the head keeps K outputs") {
    Original& o = mlp_original();
    run_all_modes(o, "be", 2);
    // A larger lr so the shadow class visibly captures the forget rows.
    auto s = make_setup(o, false, "all", 10, 0.05);
    make_method("be")->run(s->ctx);
    auto& m = *s->ctx.model;
    CHECK(m.find_tensor("head.weight").size(0) == 4);
    CHECK(m.find_tensor("head.bias").size(0) == 4);
    Tensor logits = eval::predict_logits(m, *s->ctx.train, s->ctx.split.forget, s->ctx.norm);
    CHECK(logits.size(1) == 4);
    testing::learning_above("be: shadow share of the last pass (%)",
                            s->ctx.report.at("shadow_share_last_pass").get<double>(), 50.0);
    testing::learning_above("be: retain accuracy - forget accuracy (points)",
                            eval::accuracy(m, *s->ctx.train, s->ctx.split.retain, s->ctx.norm) -
                                eval::accuracy(m, *s->ctx.train, s->ctx.split.forget, s->ctx.norm),
                            0.0);

    Original* img = image_original();
    auto si = make_setup(*img, true, "last:1", 1);
    make_method("be")->run(si->ctx);
    check_scope(*si);
    CHECK(si->ctx.model->find_tensor("fc.weight").size(0) == 10);
  }
  TEST_CASE("rl --opt schedule=salun: a D_F pass with labels over all K, then a D_R pass") {
    Original& o = mlp_original();
    // The draw: deterministic, every class including the true one, redrawn per epoch.
    const int64_t k = 10;
    std::vector<int64_t> count(k, 0);
    int64_t redrawn = 0;
    for (int64_t i = 0; i < 2000; ++i) {
      int64_t a = rl_label_any(7, i, 0, k), b = rl_label_any(7, i, 1, k);
      REQUIRE(a >= 0);
      REQUIRE(a < k);
      CHECK(rl_label_any(7, i, 0, k) == a);
      ++count[(a - i % k + k) % k];  // offset from the "true" label i % k
      redrawn += a != b;
    }
    for (int64_t d = 0; d < k; ++d) CHECK(count[d] > 2000 / 10 / 2);  // d = 0: the true class
    CHECK(redrawn > 1000);

    auto s = make_setup(o, false, "all", 3);
    s->ctx.opt.extra["schedule"] = "salun";
    make_method("rl")->run(s->ctx);
    const nlohmann::json& r = s->ctx.report;
    CHECK(r.at("schedule") == "salun");
    const auto nf = static_cast<int64_t>(s->ctx.split.forget.size());
    const auto nr = static_cast<int64_t>(s->ctx.split.retain.size());
    CHECK(r.at("labels_drawn").get<int64_t>() == 3 * nf);  // only the forget pass relabels
    // Over all K = 4 classes about a quarter of the 3 × 48 draws hit the true label.
    CHECK(r.at("labels_equal_to_true").get<int64_t>() > 0);
    CHECK(r.at("labels_equal_to_true").get<int64_t>() < 3 * nf / 2);
    // Optimizer steps counted per pass: ⌈48/64⌉ = 1 and ⌈432/64⌉ = 7 per epoch.
    CHECK(r.at("forget_steps").get<int64_t>() == 3 * ((nf + 63) / 64));
    CHECK(r.at("retain_steps").get<int64_t>() == 3 * ((nr + 63) / 64));
    // A different model from the default mixed stream.
    auto m = make_setup(o, false, "all", 3);
    make_method("rl")->run(m->ctx);
    CHECK(m->ctx.report.at("schedule") == "mixed");
    CHECK_FALSE(bit_identical(s->ctx.model->find_tensor("head.weight").detach().clone(),
                              m->ctx.model->find_tensor("head.weight").detach().clone()));
    MESSAGE("rl forget accuracy: mixed "
            << eval::accuracy(*m->ctx.model, *m->ctx.train, m->ctx.split.forget, m->ctx.norm)
            << "%, schedule=salun "
            << eval::accuracy(*s->ctx.model, *s->ctx.train, s->ctx.split.forget, s->ctx.norm)
            << "%");
    // Every scope and --no-retain (a forget pass only), scope respected.
    for (const std::string scope : {"head", "last:1"}) {
      auto sc = make_setup(o, false, scope, 2);
      sc->ctx.opt.extra["schedule"] = "salun";
      make_method("rl")->run(sc->ctx);
      check_scope(*sc);
    }
    auto nr0 = make_setup(o, true, "all", 2);
    nr0->ctx.opt.extra["schedule"] = "salun";
    make_method("rl")->run(nr0->ctx);
    CHECK(nr0->ctx.report.at("retain_steps").get<int64_t>() == 0);
    check_scope(*nr0);
    auto bad = make_setup(o, false, "all", 1);
    bad->ctx.opt.extra["schedule"] = "cosine";
    CHECK_THROWS_WITH_AS(make_method("rl")->run(bad->ctx),
                         doctest::Contains("--opt schedule=cosine"), lethe::Error);
  }

  TEST_CASE("ft --opt schedule=constant keeps the lr; the default decays it by cosine") {
    Original& o = mlp_original();
    auto cos = make_setup(o, false, "all", 3, 0.02);
    make_method("ft")->run(cos->ctx);
    auto con = make_setup(o, false, "all", 3, 0.02);
    con->ctx.opt.extra["schedule"] = "constant";
    make_method("ft")->run(con->ctx);
    CHECK(cos->ctx.report.at("schedule") == "cosine");
    CHECK(con->ctx.report.at("schedule") == "constant");
    // Read from the optimizer at the first and last step.
    CHECK(con->ctx.report.at("lr_first_step").get<double>() == doctest::Approx(0.02));
    CHECK(con->ctx.report.at("lr_last_step").get<double>() == doctest::Approx(0.02));
    CHECK(cos->ctx.report.at("lr_first_step").get<double>() == doctest::Approx(0.02));
    // Cosine over 3 epochs: the last epoch runs at 0.02 · (1 + cos(2π/3)) / 2 = 0.005.
    CHECK(cos->ctx.report.at("lr_last_step").get<double>() == doctest::Approx(0.005));
    CHECK_FALSE(bit_identical(cos->ctx.model->find_tensor("head.weight").detach().clone(),
                              con->ctx.model->find_tensor("head.weight").detach().clone()));
    auto bad = make_setup(o, false, "all", 1);
    bad->ctx.opt.extra["schedule"] = "salun";
    CHECK_THROWS_WITH_AS(make_method("ft")->run(bad->ctx),
                         doctest::Contains("--opt schedule=salun"), lethe::Error);
  }
}
