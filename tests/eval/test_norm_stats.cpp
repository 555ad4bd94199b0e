// Normalization statistics (eval/norm_stats.h): per class and channel, the moments of the input,
// normalized activation and output of every BatchNorm2d (ResNet) and LayerNorm (ViT) equal an
// independent two-pass float64 computation over the very tensors the layers saw; batch size does
// not change them; class counts are right; the gap formulas hold on hand-made statistics; scaling
// one class's inputs ×3 widens the first BN layer's fairness gap; JSON and CSV tables are complete.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "data/normalization.h"
#include "data/spec.h"
#include "engine/autograd/autograd.h"
#include "engine/io/run_dir.h"
#include "engine/nn/init.h"
#include "engine/nn/layers.h"
#include "engine/ops/ops.h"
#include "eval/norm_stats.h"
#include "models/registry.h"
#include "tests/support/learning.h"
#include "train/trainer.h"

using namespace lethe;
using eval::NormQuantity;

namespace {

// What one norm layer saw in one forward.
struct Seen {
  Tensor in, out;
  std::vector<int64_t> labels;
};

// Forwards every observation to the collector and keeps copies of the norm layers' tensors,
// so the reference below works on exactly the values the collector saw.
struct Tee : nn::ForwardObserver {
  eval::NormStatsCollector* col = nullptr;
  std::vector<int64_t> labels;
  std::map<const nn::Module*, std::vector<Seen>> seen;
  void after(const nn::Module& m, const Tensor& in, const Tensor& out) override {
    col->after(m, in, out);
    if (dynamic_cast<const nn::BatchNorm2d*>(&m) || dynamic_cast<const nn::LayerNorm*>(&m))
      seen[&m].push_back({in.clone(), out.clone(), labels});
  }
};

// Rows [lo, hi) of x [N, ...].
Tensor rows(const Tensor& x, int64_t lo, int64_t hi) {
  return ops::slice(x, 0, lo, hi).clone();
}

// Runs the model over x in batches of `batch`, through the collector (and the tee when given).
void run_batches(models::Classifier& model, eval::NormStatsCollector& col, const Tensor& x,
                 const std::vector<int64_t>& y, int64_t batch, Tee* tee = nullptr) {
  const int64_t n = x.size(0);
  for (int64_t lo = 0; lo < n; lo += batch) {
    int64_t hi = std::min(n, lo + batch);
    std::vector<int64_t> yb(y.begin() + lo, y.begin() + hi);
    if (!tee) {
      col.run(model, rows(x, lo, hi), yb);
      continue;
    }
    // The tee installs itself instead of the collector; run() would install the collector.
    col.set_labels(yb);
    tee->labels = yb;
    model.eval();
    NoGradGuard ng;
    nn::ObserverGuard g(tee);
    model.forward(rows(x, lo, hi));
  }
}

// Reference moments [class][channel] of one quantity, two passes in double over all values.
struct Ref {
  std::vector<std::vector<double>> mean, var;
  std::vector<int64_t> count;
};

// value(i, p, k, x_data) → the quantity; layout as the collector: BN [N,K,P], LN [N,P,K].
Ref reference(const std::vector<Seen>& seen, bool bn, int64_t C, NormQuantity q,
              const std::vector<double>& bn_mu, const std::vector<double>& bn_inv, double ln_eps) {
  Ref r;
  int64_t K = bn ? seen[0].in.size(1) : seen[0].in.size(-1);
  r.mean.assign(C, std::vector<double>(K, 0));
  r.var.assign(C, std::vector<double>(K, 0));
  r.count.assign(C, 0);
  // Gather every value per (class, channel), then two passes.
  std::vector<std::vector<std::vector<double>>> vals(C, std::vector<std::vector<double>>(K));
  for (const Seen& s : seen) {
    std::vector<double> x = s.in.to_vector_f64(), y = s.out.to_vector_f64();
    int64_t N = s.in.size(0), P = s.in.numel() / (N * K);
    for (int64_t i = 0; i < N; ++i)
      for (int64_t p = 0; p < P; ++p) {
        double tmu = 0, trstd = 0;
        if (!bn) {
          const double* row = &x[(i * P + p) * K];
          for (int64_t k = 0; k < K; ++k) tmu += row[k];
          tmu /= K;
          double d = 0;
          for (int64_t k = 0; k < K; ++k) d += (row[k] - tmu) * (row[k] - tmu);
          trstd = 1 / std::sqrt(d / K + ln_eps);
        }
        for (int64_t k = 0; k < K; ++k) {
          int64_t at = bn ? (i * K + k) * P + p : (i * P + p) * K + k;
          double v = x[at];
          if (q == NormQuantity::Normalized)
            v = bn ? (v - bn_mu[k]) * bn_inv[k] : (v - tmu) * trstd;
          if (q == NormQuantity::Output) v = y[at];
          vals[s.labels[i]][k].push_back(v);
        }
      }
  }
  for (int64_t c = 0; c < C; ++c) {
    r.count[c] = static_cast<int64_t>(vals[c][0].size());
    for (int64_t k = 0; k < K; ++k) {
      const std::vector<double>& v = vals[c][k];
      if (v.empty()) continue;
      double s = 0;
      for (double a : v) s += a;
      double m = s / v.size(), d = 0;
      for (double a : v) d += (a - m) * (a - m);
      r.mean[c][k] = m;
      r.var[c][k] = d / v.size();
    }
  }
  return r;
}

// Random affine parameters and (for BN) running statistics, so x̂ ≠ x and y ≠ x̂.
void randomize_norms(nn::Module& model) {
  uint64_t seed = 100;
  auto u = [&](Tensor t, double lo, double hi) {
    t.copy_(Tensor::uniform(t.shape(), lo, hi, seed++));
  };
  model.apply([&](nn::Module& m) {
    if (auto* bn = dynamic_cast<nn::BatchNorm2d*>(&m)) {
      u(bn->running_mean, -0.5, 0.5);
      u(bn->running_var, 0.3, 2.0);
      u(bn->weight, 0.5, 1.5);
      u(bn->bias, -0.5, 0.5);
    } else if (auto* ln = dynamic_cast<nn::LayerNorm*>(&m)) {
      u(ln->weight, 0.5, 1.5);
      u(ln->bias, -0.5, 0.5);
    }
  });
}

// Uneven class sizes, one class absent: counts 14, 9, 13, 0 over 36 samples.
std::vector<int64_t> uneven_labels() {
  std::vector<int64_t> y;
  for (int i = 0; i < 14; ++i) y.push_back(0);
  for (int i = 0; i < 9; ++i) y.push_back(1);
  for (int i = 0; i < 13; ++i) y.push_back(2);
  // Interleave so batches mix classes.
  std::vector<int64_t> out(y.size());
  for (size_t i = 0; i < y.size(); ++i) out[(i * 7) % y.size()] = y[i];
  return out;
}

// Checks every layer of the collector against the reference of the tee's copies.
void check_against_reference(models::Classifier& model, const eval::NormStatsCollector& col,
                             const Tee& tee, int64_t C) {
  std::map<std::string, nn::Module*> by_name;
  for (auto& [n, m] : model.named_modules()) by_name[n] = m;
  REQUIRE(col.layers().size() == tee.seen.size());
  for (const eval::NormLayerStats& L : col.layers()) {
    CAPTURE(L.name);
    nn::Module* m = by_name.at(L.name);
    const std::vector<Seen>& seen = tee.seen.at(m);
    auto* bn = dynamic_cast<nn::BatchNorm2d*>(m);
    auto* ln = dynamic_cast<nn::LayerNorm*>(m);
    REQUIRE((bn || ln));
    CHECK(L.type == (bn ? "BatchNorm2d" : "LayerNorm"));
    std::vector<double> mu, inv, gamma, beta;
    if (bn) {
      for (float v : bn->running_mean.to_vector()) mu.push_back(v);
      for (float v : bn->running_var.to_vector()) inv.push_back(1 / std::sqrt(v + bn->eps));
    }
    for (float v : (bn ? bn->weight : ln->weight).to_vector()) gamma.push_back(v);
    for (float v : (bn ? bn->bias : ln->bias).to_vector()) beta.push_back(v);
    for (int q = 0; q < eval::kNormQuantities; ++q) {
      auto nq = static_cast<NormQuantity>(q);
      Ref r = reference(seen, bn != nullptr, C, nq, mu, inv, ln ? ln->eps : 0);
      for (int64_t c = 0; c < C; ++c) {
        CHECK(L.count(c) == r.count[c]);
        for (int64_t k = 0; k < L.channels; ++k) {
          const eval::Moments& mo = L.at(nq, c, k);
          CHECK(mo.n == r.count[c]);
          if (r.count[c] == 0) continue;
          CHECK(mo.mean == doctest::Approx(r.mean[c][k]).epsilon(1e-10).scale(1e-3));
          CHECK(mo.var() == doctest::Approx(r.var[c][k]).epsilon(1e-10).scale(1e-6));
        }
      }
    }
    // The output really is γ·x̂ + β of the normalized quantity (engine f32 vs double x̂).
    for (int64_t c = 0; c < C; ++c) {
      if (L.count(c) == 0) continue;
      for (int64_t k = 0; k < L.channels; ++k) {
        const eval::Moments& h = L.at(NormQuantity::Normalized, c, k);
        const eval::Moments& o = L.at(NormQuantity::Output, c, k);
        CHECK(o.mean == doctest::Approx(gamma[k] * h.mean + beta[k]).epsilon(1e-4).scale(1));
        CHECK(o.var() == doctest::Approx(gamma[k] * gamma[k] * h.var()).epsilon(1e-3));
      }
    }
  }
}

}  // namespace

TEST_SUITE("eval") {
  TEST_CASE("Moments merge equals one pass over the concatenation") {
    std::vector<double> v;
    for (int i = 0; i < 1000; ++i) v.push_back(1e4 + std::sin(i * 0.37) * 3 + i * 1e-3);
    auto exact = [](const std::vector<double>& a, size_t lo, size_t hi) {
      double s = 0;
      for (size_t i = lo; i < hi; ++i) s += a[i];
      double m = s / (hi - lo), d = 0;
      for (size_t i = lo; i < hi; ++i) d += (a[i] - m) * (a[i] - m);
      return eval::Moments{static_cast<int64_t>(hi - lo), m, d};
    };
    eval::Moments all = exact(v, 0, v.size());
    for (size_t chunk : {1, 7, 100, 999}) {
      eval::Moments acc;
      for (size_t lo = 0; lo < v.size(); lo += chunk)
        acc.merge(exact(v, lo, std::min(v.size(), lo + chunk)));
      CHECK(acc.n == all.n);
      CHECK(acc.mean == doctest::Approx(all.mean).epsilon(1e-14));
      CHECK(acc.var() == doctest::Approx(all.var()).epsilon(1e-9));
    }
  }

  TEST_CASE("per-class statistics stay exact for channels and tokens at 1e4 ± 1") {
    // Values far from zero beside their spread: a one-pass E[x²] − E[x]² would lose the
    // variance; the collector's two-pass batches merged by Chan's formula must not.
    auto exact_var = [](const std::vector<double>& v) {
      double s = 0;
      for (double a : v) s += a;
      const double m = s / static_cast<double>(v.size());
      double d = 0;
      for (double a : v) d += (a - m) * (a - m);
      return d / static_cast<double>(v.size());
    };
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    // BatchNorm2d, 2 channels; class c's channel-0 values are 1e4 + (c + 1)/2 · U(−1, 1).
    nn::BatchNorm2d bn(2);
    bn.train(false);
    bn.running_mean.data<float>()[0] = 1e4f;
    const int64_t N = 8, P = 5;
    eval::NormStatsCollector col(bn, 2);
    std::map<int64_t, std::vector<double>> truth;  // class -> channel-0 inputs
    for (int batch = 0; batch < 3; ++batch) {
      std::vector<float> xv(N * 2 * P);
      std::vector<int64_t> labels;
      for (int64_t i = 0; i < N; ++i) {
        const int64_t c = (i + batch) % 2;
        labels.push_back(c);
        for (int64_t p = 0; p < P; ++p) {
          xv[(i * 2) * P + p] = 1e4f + 0.5f * static_cast<float>(c + 1) * u(rng);
          xv[(i * 2 + 1) * P + p] = u(rng);
          truth[c].push_back(xv[(i * 2) * P + p]);
        }
      }
      const Tensor x = Tensor::from_vector({N, 2, P, 1}, xv);
      NoGradGuard ng;
      const Tensor y = bn.forward(x);
      col.set_labels(labels);
      col.after(bn, x, y);
    }
    REQUIRE(col.layers().size() == 1);
    for (int64_t c = 0; c < 2; ++c) {
      CAPTURE(c);
      const eval::Moments& m = col.layers()[0].at(NormQuantity::Input, c, 0);
      CHECK(m.n == static_cast<int64_t>(truth[c].size()));
      CHECK(m.var() == doctest::Approx(exact_var(truth[c])).epsilon(1e-10));
      CHECK(m.var() > 0.05 * (c + 1) * (c + 1));  // U(−a, a) has variance a²/3
    }

    // LayerNorm over 16 features; each token's values at 1e4 ± 1: its normalized activation has
    // mean 0 and variance ≈ 1 per token, so per feature the variance over tokens stays O(1).
    nn::LayerNorm ln(16, 1e-6);
    eval::NormStatsCollector lcol(ln, 1);
    std::vector<float> xv(6 * 16);
    for (float& v : xv) v = 1e4f + u(rng);
    const Tensor x = Tensor::from_vector({6, 16}, xv);
    NoGradGuard ng;
    const Tensor y = ln.forward(x);
    lcol.set_labels(std::vector<int64_t>(6, 0));
    lcol.after(ln, x, y);
    REQUIRE(lcol.layers().size() == 1);
    for (int64_t k = 0; k < 16; ++k) {
      CAPTURE(k);
      std::vector<double> in, xhat;
      for (int64_t t = 0; t < 6; ++t) in.push_back(xv[t * 16 + k]);
      const eval::Moments& mi = lcol.layers()[0].at(NormQuantity::Input, 0, k);
      CHECK(mi.var() == doctest::Approx(exact_var(in)).epsilon(1e-10));
      // x̂ of one feature across tokens: finite and of order 1 (not the noise of a cancelled var).
      const eval::Moments& mh = lcol.layers()[0].at(NormQuantity::Normalized, 0, k);
      CHECK(std::isfinite(mh.var()));
      CHECK(mh.var() < 10.0);
    }
  }

  TEST_CASE("BatchNorm statistics equal a two-pass float64 computation (ResNet-18, eval mode)") {
    nn::manual_seed(3);
    auto model = models::build_model(models::config_for("resnet18", 3, 12, 4, {{"width", 4}}));
    randomize_norms(*model);
    Tensor x = Tensor::randn({36, 3, 12, 12}, 11);
    std::vector<int64_t> y = uneven_labels();
    eval::NormStatsCollector col(*model, 4);
    Tee tee;
    tee.col = &col;
    run_batches(*model, col, x, y, 10, &tee);  // batches 10, 10, 10, 6
    // ResNet-18: stem bn1, two per basic block, three downsample BNs.
    REQUIRE(col.layers().size() == 20);
    CHECK(col.layers()[0].name == "bn1");
    CHECK(col.layers()[1].name == "layer1.0.bn1");
    bool has_down = false;
    for (const auto& L : col.layers()) has_down |= L.name == "layer2.0.downsample.1";
    CHECK(has_down);
    check_against_reference(*model, col, tee, 4);
    // Count per class = samples × H·W of the layer; the stem BN sees 12×12 positions.
    CHECK(col.layers()[0].count(0) == 14 * 144);
    CHECK(col.layers()[0].count(1) == 9 * 144);
    CHECK(col.layers()[0].count(2) == 13 * 144);
    CHECK(col.layers()[0].count(3) == 0);
    CHECK(col.samples_per_class() == std::vector<int64_t>{14, 9, 13, 0});
    eval::FairnessGaps g = eval::fairness_gaps(col.layers()[0]);
    CHECK(g.classes == 3);  // the absent class does not take part
    CHECK(g.gap > 0);
  }

  TEST_CASE("LayerNorm statistics equal a two-pass float64 computation (tiny ViT)") {
    nn::manual_seed(4);
    auto model = models::build_model(models::config_for(
        "vit-tiny", 3, 16, 4, {{"dim", 24}, {"depth", 2}, {"heads", 2}, {"patch", 4}}));
    randomize_norms(*model);
    Tensor x = Tensor::randn({36, 3, 16, 16}, 12);
    std::vector<int64_t> y = uneven_labels();
    eval::NormStatsCollector col(*model, 4);
    Tee tee;
    tee.col = &col;
    run_batches(*model, col, x, y, 8, &tee);
    REQUIRE(col.layers().size() == 5);  // norm1, norm2 per block and the final norm
    CHECK(col.layers()[0].name == "blocks.0.norm1");
    CHECK(col.layers().back().name == "norm");
    CHECK(col.layers()[0].channels == 24);
    check_against_reference(*model, col, tee, 4);
    // 16 patches + the class token per sample.
    CHECK(col.layers()[0].count(0) == 14 * 17);
    CHECK(col.layers()[0].count(2) == 13 * 17);
    // Each token is normalized over its features: x̂ has channel-averaged mean ≈ 0 per class.
    double s = 0;
    for (int64_t k = 0; k < 24; ++k) s += col.layers()[0].at(NormQuantity::Normalized, 0, k).mean;
    CHECK(std::abs(s / 24) < 1e-6);
  }

  TEST_CASE("batch size does not change the normalization statistics") {
    nn::manual_seed(5);
    auto model = models::build_model(models::config_for("resnet18", 3, 12, 4, {{"width", 4}}));
    randomize_norms(*model);
    Tensor x = Tensor::randn({36, 3, 12, 12}, 13);
    std::vector<int64_t> y = uneven_labels();
    eval::NormStatsCollector whole(*model, 4), pieces(*model, 4);
    run_batches(*model, whole, x, y, 36);
    run_batches(*model, pieces, x, y, 5);
    REQUIRE(whole.layers().size() == pieces.layers().size());
    CHECK(whole.samples_per_class() == pieces.samples_per_class());
    double worst = 0;
    for (size_t l = 0; l < whole.layers().size(); ++l) {
      const auto& A = whole.layers()[l];
      const auto& B = pieces.layers()[l];
      CHECK(A.name == B.name);
      for (int q = 0; q < eval::kNormQuantities; ++q)
        for (size_t i = 0; i < A.m[q].size(); ++i) {
          CHECK(A.m[q][i].n == B.m[q][i].n);
          if (A.m[q][i].n == 0) continue;
          double sd = std::max(1e-3, A.m[q][i].stddev());
          worst = std::max(worst, std::abs(A.m[q][i].mean - B.m[q][i].mean) / sd);
          worst = std::max(worst, std::abs(A.m[q][i].var() - B.m[q][i].var()) / (sd * sd));
        }
    }
    // The CPU forward computes each row alike in any batch (measured: 3e-15 here), so what is
    // left is the accumulation, which must be exact up to double rounding.
    CHECK(worst < 1e-9);
  }

  TEST_CASE("fairness gap formulas on hand-made statistics") {
    eval::NormLayerStats L;
    L.name = "x";
    L.type = "BatchNorm2d";
    L.channels = 2;
    L.num_classes = 3;
    // σ[c][k]: class 0 {1, 3}, class 1 {2, 2}, class 2 {4, 1}.
    double sd[3][2] = {{1, 3}, {2, 2}, {4, 1}};
    for (auto& v : L.m) v.assign(6, eval::Moments{});
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < 2; ++k) {
        double n = 10;
        for (int q = 0; q < eval::kNormQuantities; ++q)
          L.m[q][c * 2 + k] = eval::Moments{10, 0.5, sd[c][k] * sd[c][k] * n / (q + 1)};
      }
    eval::FairnessGaps g = eval::fairness_gaps(L);
    CHECK(g.classes == 3);
    // channel means of σ: 2, 2, 2.5 → 0.5; of σ²: 5, 4, 8.5 → 4.5.
    CHECK(g.gap == doctest::Approx(0.5));
    CHECK(g.gap_var == doctest::Approx(4.5));
    // per channel: k0 4−1 = 3, k1 3−1 = 2.
    CHECK(g.channel_max == doctest::Approx(3));
    CHECK(g.channel_mean == doctest::Approx(2.5));
    CHECK(g.normalized == doctest::Approx(0.5 / std::sqrt(2.0)));
    CHECK(g.output == doctest::Approx(0.5 / std::sqrt(3.0)));
    // One class present: no spread.
    for (auto& v : L.m)
      for (int i = 2; i < 6; ++i) v[i] = eval::Moments{};
    CHECK(eval::fairness_gaps(L).classes == 1);
    CHECK(eval::fairness_gaps(L).gap == 0);
  }

  TEST_CASE("scaling one class x3 widens the first BN layer's fairness gap") {
    REQUIRE_MESSAGE(std::filesystem::exists(data::kFashionMnistDir),
                    "Fashion-MNIST is not installed in " << data::kFashionMnistDir
                                                         << " (make deps installs it)");
    data::DataSplit ds = data::load_dataset("fashion-mnist", 0);
    data::Normalization norm = data::Normalization::from_dataset(ds.train);
    // 100 test images, 10 per class.
    std::vector<int64_t> idx, per(10, 0);
    const int64_t* lab = ds.test.labels.data<int64_t>();
    for (int64_t i = 0; i < ds.test.size() && idx.size() < 100; ++i)
      if (per[lab[i]] < 10) ++per[lab[i]], idx.push_back(i);
    Tensor x01 = ops::mul(ops::index_select(ds.test.images, idx).to(DType::F32), 1.0 / 255);
    Tensor x = norm.apply(x01).clone();
    std::vector<int64_t> y;
    for (int64_t i : idx) y.push_back(lab[i]);
    // The model input of class 2 (pullover) ×3: conv1 has no bias, so bn1's input for that class
    // is exactly 3× the unscaled one.
    const int64_t scaled = 2;
    std::vector<float> xv = x.to_vector();
    const int64_t per_sample = x.numel() / x.size(0);
    for (size_t i = 0; i < y.size(); ++i)
      if (y[i] == scaled)
        for (int64_t j = 0; j < per_sample; ++j) xv[i * per_sample + j] *= 3;
    Tensor x3 = Tensor::from_vector(x.shape(), xv);

    nn::manual_seed(6);
    auto model = models::build_model(models::config_for("resnet18", 1, 28, 10, {{"width", 8}}));
    eval::NormStatsCollector plain(*model, 10), tripled(*model, 10);
    run_batches(*model, plain, x, y, 100);  // one batch each: merges are tested above
    run_batches(*model, tripled, x3, y, 100);
    const eval::NormLayerStats& A = plain.layers().at(0);
    const eval::NormLayerStats& B = tripled.layers().at(0);
    REQUIRE(A.name == "bn1");
    for (int64_t k = 0; k < A.channels; ++k) {
      CHECK(B.at(NormQuantity::Input, scaled, k).stddev() ==
            doctest::Approx(3 * A.at(NormQuantity::Input, scaled, k).stddev()).epsilon(1e-4));
      CHECK(B.at(NormQuantity::Input, 0, k).stddev() ==
            doctest::Approx(A.at(NormQuantity::Input, 0, k).stddev()).epsilon(1e-6));
    }
    eval::FairnessGaps ga = eval::fairness_gaps(A), gb = eval::fairness_gaps(B);
    // Mean over classes of the channel-averaged σ, to express the margin in σ units.
    double sigma = 0;
    for (int64_t c = 0; c < 10; ++c)
      for (int64_t k = 0; k < A.channels; ++k) sigma += A.at(NormQuantity::Input, c, k).stddev();
    sigma /= 10.0 * A.channels;
    MESSAGE("bn1 fairness gap: unscaled ", ga.gap, ", class ", scaled, " x3 ", gb.gap,
            " (mean sigma ", sigma, ")");
    testing::learning_above("norm stats: x3 gap / plain gap", gb.gap / ga.gap, 2);
    testing::learning_above("norm stats: (x3 gap - plain gap) / mean sigma",
                            (gb.gap - ga.gap) / sigma, 0.5);
    testing::learning_above("norm stats: x3 gap_var / plain gap_var", gb.gap_var / ga.gap_var, 2);
    CHECK(gb.channel_max > ga.channel_max);
  }

  TEST_CASE("bn_stats JSON and CSV tables name every layer, class and channel") {
    nn::manual_seed(7);
    auto model = models::build_model(
        models::config_for("resnet18", 3, 8, 3, {{"width", 4}, {"layers", {1, 1, 1, 1}}}));
    randomize_norms(*model);
    Tensor x = Tensor::randn({12, 3, 8, 8}, 14);
    std::vector<int64_t> y = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 0};
    eval::NormStatsCollector col(*model, 3);
    run_batches(*model, col, x, y, 5);
    eval::NormStats s = col.result("test");
    nlohmann::json j = eval::norm_stats_json(s);
    CHECK(j["split"] == "test");
    CHECK(j["samples"] == 12);
    REQUIRE(j["order"].size() == s.layers.size());
    double sum = 0;
    int64_t total_channels = 0;
    for (const auto& L : s.layers) {
      const auto& e = j["layers"][L.name];
      CHECK(e["type"] == "BatchNorm2d");
      CHECK(e["channels"] == L.channels);
      CHECK(e["fairness_gap"].get<double>() == doctest::Approx(eval::fairness_gaps(L).gap));
      for (const char* k :
           {"fairness_gap_var", "fairness_gap_channel_max", "fairness_gap_channel_mean",
            "fairness_gap_normalized", "fairness_gap_output"})
        CHECK(e[k].is_number());
      CHECK(e["input_std_per_class"].size() == 3);
      sum += e["fairness_gap"].get<double>();
      total_channels += L.channels;
    }
    CHECK(j["mean_fairness_gap"].get<double>() == doctest::Approx(sum / s.layers.size()));

    auto dir = std::filesystem::temp_directory_path() / "lethe_test_norm_stats";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::vector<std::string> files = eval::write_norm_stats_csv(s, dir.string());
    CHECK(files.size() == 3);
    auto lines = [&](const char* f) {
      std::ifstream in(dir / f);
      int64_t n = 0;
      for (std::string l; std::getline(in, l);) ++n;
      return n;
    };
    const int64_t L = static_cast<int64_t>(s.layers.size());
    CHECK(lines("bn_stats_layers.csv") == 1 + L);
    CHECK(lines("bn_stats_classes.csv") == 1 + L * 3);
    CHECK(lines("bn_stats_channels.csv") == 1 + total_channels * 3);
    std::filesystem::remove_all(dir);
  }
}
