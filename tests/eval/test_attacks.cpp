// Attacks (eval/attacks/pgd.h) on a small MLP trained here on 400 Fashion-MNIST images: PGD stays
// in its ε-ball and in [0,1] and raises the loss, FGSM moves each pixel by at most ε, the
// per-sample normalization is per sample, and the minimal-ε search ends misclassified and in its ε.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "data/loader.h"
#include "data/normalization.h"
#include "data/spec.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"
#include "eval/attacks/pgd.h"
#include "models/registry.h"
#include "tests/support/learning.h"
#include "train/trainer.h"

using namespace lethe;

namespace {

struct Fixture {
  data::DataSplit ds;
  std::shared_ptr<models::Classifier> model;
  data::Normalization norm;
  Tensor x, y;  // 64 training images in [0,1] and their labels
};

// Trained once per process: an MLP that fits its 400 images well.
Fixture* fixture() {
  static std::unique_ptr<Fixture> f = [] {
    REQUIRE_MESSAGE(std::filesystem::exists(data::kFashionMnistDir),
                    "Fashion-MNIST is not installed in " << data::kFashionMnistDir
                                                         << " (make deps installs it)");
    auto fx = std::make_unique<Fixture>();
    fx->ds = data::load_dataset("fashion-mnist", 0);
    std::vector<int64_t> idx(400);
    for (int64_t i = 0; i < 400; ++i) idx[i] = i;
    nn::manual_seed(1);
    fx->model = models::build_model(
        models::config_for("mlp", 1, 28, 10, {{"hidden", nlohmann::json::array({64})}}));
    fx->norm = data::Normalization::from_dataset(fx->ds.train);
    optim::SgdOptions so;
    so.lr = 0.05;
    so.momentum = 0.9;
    optim::SGD opt(fx->model->parameters(), so);
    train::EpochOptions eo;
    eo.batch = 50;
    for (int e = 0; e < 8; ++e)
      train::train_epoch(*fx->model, opt, fx->ds.train, idx, fx->norm, eo, e, nullptr);
    data::LoaderOptions lo;
    lo.shuffle = false;
    lo.background = false;
    data::Loader loader(fx->ds.train, idx, lo);
    std::vector<int64_t> rows(idx.begin(), idx.begin() + 64);
    data::Batch b = loader.make_batch(rows, 0);
    fx->x = b.x;
    fx->y = b.y;
    return fx;
  }();
  return f.get();
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}

// Per-sample L2 distances between two [B,...] tensors, in double.
std::vector<double> l2_dist(const Tensor& a, const Tensor& b) {
  std::vector<float> av = a.to_vector(), bv = b.to_vector();
  int64_t n = a.size(0), per = a.numel() / n;
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t j = 0; j < per; ++j) {
      double d = static_cast<double>(av[i * per + j]) - bv[i * per + j];
      s += d * d;
    }
    out[i] = std::sqrt(s);
  }
  return out;
}

void check_box(const Tensor& x) {
  std::vector<float> v = x.to_vector();
  float lo = 1, hi = 0;
  for (float f : v) {
    lo = std::min(lo, f);
    hi = std::max(hi, f);
  }
  CHECK(lo >= 0.f);
  CHECK(hi <= 1.f);
}

}  // namespace

TEST_SUITE("eval") {
  TEST_CASE("per-sample L2 normalization is per sample") {
    Tensor g = Tensor::randn({3, 2, 4, 5}, 7);
    g = ops::mul(g, Tensor::from_vector({3, 1, 1, 1}, {1.f, 100.f, 0.01f}));
    Tensor n = eval::per_sample_l2_norm(g);
    CHECK(n.shape() == Shape{3, 1, 1, 1});
    Tensor u = eval::per_sample_normalize(g);
    std::vector<float> gv = g.to_vector(), uv = u.to_vector();
    for (int b = 0; b < 3; ++b) {
      double s = 0, su = 0;
      for (int j = 0; j < 40; ++j) {
        s += double(gv[b * 40 + j]) * gv[b * 40 + j];
        su += double(uv[b * 40 + j]) * uv[b * 40 + j];
      }
      CHECK(n.at(b) == doctest::Approx(std::sqrt(s)).epsilon(1e-5));
      CHECK(std::sqrt(su) == doctest::Approx(1.0).epsilon(1e-5));
      // Same direction as the original sample.
      for (int j = 0; j < 40; ++j)
        CHECK(uv[b * 40 + j] == doctest::Approx(gv[b * 40 + j] / std::sqrt(s)).epsilon(1e-4));
    }
  }

  TEST_CASE("FGSM moves each pixel by at most eps and stays in [0,1]") {
    Fixture* f = fixture();
    const double eps = 0.03;
    Tensor adv = eval::fgsm(*f->model, f->norm, f->x, f->y, eps);
    std::vector<float> a = adv.to_vector(), x = f->x.to_vector();
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - x[i]));
    CHECK(worst <= eps + 1e-6);
    CHECK(worst >= eps - 1e-6);  // some pixel moved by the full step
    check_box(adv);
    testing::learning_above("attacks: FGSM(0.03) loss / clean loss",
                            mean(eval::per_sample_loss(*f->model, f->norm, adv, f->y)) /
                                mean(eval::per_sample_loss(*f->model, f->norm, f->x, f->y)),
                            1.0);
  }

  TEST_CASE("PGD L-inf stays in the eps-ball and [0,1] and raises the loss") {
    Fixture* f = fixture();
    for (bool rs : {false, true}) {
      eval::PgdOptions o;
      o.norm = eval::Norm::Linf;
      o.eps = 8.0 / 255;
      o.step = 2.0 / 255;
      o.steps = 10;
      o.random_start = rs;
      o.seed = 3;
      Tensor adv = eval::pgd(*f->model, f->norm, f->x, f->y, o);
      std::vector<float> a = adv.to_vector(), x = f->x.to_vector();
      double worst = 0;
      for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(double(a[i]) - x[i]));
      CHECK(worst <= o.eps + 1e-6);
      check_box(adv);
      double before = mean(eval::per_sample_loss(*f->model, f->norm, f->x, f->y));
      double after = mean(eval::per_sample_loss(*f->model, f->norm, adv, f->y));
      MESSAGE("PGD Linf (random start " << rs << "): loss " << before << " -> " << after);
      testing::learning_above("attacks: PGD-linf loss / clean loss", after / before, 2);
    }
  }

  TEST_CASE("PGD L2 stays in the eps-ball and [0,1] and raises the loss") {
    Fixture* f = fixture();
    for (bool rs : {false, true}) {
      eval::PgdOptions o;
      o.norm = eval::Norm::L2;
      o.eps = 1.0;
      o.step = 0.2;
      o.steps = 10;
      o.random_start = rs;
      o.seed = 5;
      Tensor adv = eval::pgd(*f->model, f->norm, f->x, f->y, o);
      for (double d : l2_dist(adv, f->x)) CHECK(d <= o.eps * (1 + 1e-5));
      check_box(adv);
      double before = mean(eval::per_sample_loss(*f->model, f->norm, f->x, f->y));
      double after = mean(eval::per_sample_loss(*f->model, f->norm, adv, f->y));
      MESSAGE("PGD L2 (random start " << rs << "): loss " << before << " -> " << after);
      testing::learning_above("attacks: PGD-L2 loss / clean loss", after / before, 2);
    }
  }

  TEST_CASE("attacks leave the model's mode, flags and gradients alone") {
    Fixture* f = fixture();
    f->model->train(true);
    f->model->zero_grad();  // training left gradients behind
    eval::fgsm(*f->model, f->norm, f->x, f->y, 0.01);
    CHECK(f->model->is_training());
    for (auto& [n, p] : f->model->named_parameters()) {
      CHECK(p.requires_grad());
      CHECK_FALSE(p.grad().defined());
    }
  }

  TEST_CASE("minimal-eps search: every sample flips, inside its eps and [0,1]") {
    Fixture* f = fixture();
    eval::MinEpsOptions o;
    o.batch = 24;  // several batches, a partial last one
    o.progress = false;
    eval::MinEpsResult r = eval::minimal_eps_search(*f->model, f->norm, f->x, f->y, o);
    CHECK(r.never_flipped == 0);
    std::vector<int64_t> pred = eval::predict(*f->model, f->norm, r.adv);
    std::vector<int64_t> y = f->y.to_vector_i64();
    std::vector<double> d = l2_dist(r.adv, f->x);
    double max_eps = 0;
    for (size_t i = 0; i < y.size(); ++i) {
      CHECK(r.flipped[i] == 1);
      CHECK(pred[i] == r.pred[i]);
      CHECK(pred[i] != y[i]);
      CHECK(d[i] <= r.eps[i] * (1 + 1e-5));
      CHECK(r.dist[i] == doctest::Approx(d[i]).epsilon(1e-6));
      // ε is a level of the doubling schedule.
      double lv = std::log2(r.eps[i] / o.eps0);
      CHECK(std::fabs(lv - std::round(lv)) < 1e-9);
      max_eps = std::max(max_eps, r.eps[i]);
    }
    check_box(r.adv);
    MESSAGE("largest eps " << max_eps);
    CHECK(max_eps > o.eps0);  // some samples needed more than the first level
  }

  TEST_CASE("minimal-eps search: the refilling pool gives each sample the result it gets alone") {
    // Batch 7 over 64 samples: the pool refills as samples finish, so samples start at different
    // iterations and share forwards with samples at other levels. Each must end as in a pool
    // that never refills (batch ≥ n): same level, same flip, the same point up to the rounding
    // of a different batch composition. Two settings: the default schedule (all flip), and one
    // level of 3 steps (some never flip: their final point and ε0 are reported).
    Fixture* f = fixture();
    for (int64_t levels : {int64_t(12), int64_t(0)}) {
      CAPTURE(levels);
      eval::MinEpsOptions o;
      o.progress = false;
      o.max_doublings = levels;
      if (levels == 0) o.steps = 3;
      o.batch = 1000;
      eval::MinEpsResult whole = eval::minimal_eps_search(*f->model, f->norm, f->x, f->y, o);
      o.batch = 7;
      eval::MinEpsResult pool = eval::minimal_eps_search(*f->model, f->norm, f->x, f->y, o);
      CHECK(pool.never_flipped == whole.never_flipped);
      if (levels == 0) CHECK(whole.never_flipped > 0);
      // The work: every sample is evaluated once per step it takes plus its final check — the
      // same count however the pool is composed; with one level of 3 steps, at most 4 each.
      const int64_t n_rows = f->x.size(0);
      CHECK(pool.gradient_rows == whole.gradient_rows);
      CHECK(whole.gradient_rows >= n_rows);
      if (levels == 0) CHECK(whole.gradient_rows <= 4 * n_rows);
      const std::vector<float> a = whole.adv.to_vector(), b = pool.adv.to_vector();
      const int64_t n = f->x.size(0), per = f->x.numel() / n;
      for (int64_t i = 0; i < n; ++i) {
        CAPTURE(i);
        CHECK(pool.eps[i] == whole.eps[i]);
        CHECK(pool.flipped[i] == whole.flipped[i]);
        CHECK(pool.pred[i] == whole.pred[i]);
        double worst = 0;
        for (int64_t k = 0; k < per; ++k)
          worst = std::max(worst, std::fabs(double(a[i * per + k]) - b[i * per + k]));
        CHECK(worst < 1e-4);
      }
    }
  }
}
