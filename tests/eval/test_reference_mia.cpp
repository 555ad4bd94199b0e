// Reference-model attacks (eval/mia/lira.h, rmia.h, reference_mia.h, train/reference_models.h):
// the scoring math against hand-computed values on tiny synthetic logits, the balanced seeded
// inclusion matrix, the pool check, and an end-to-end run on an overfit MLP where LiRA and RMIA
// must find the members.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <filesystem>

#include "../data/util.h"
#include "data/normalization.h"
#include "data/random.h"
#include "data/spec.h"
#include "engine/io/run_dir.h"
#include "eval/mia/lira.h"
#include "eval/mia/reference_mia.h"
#include "eval/mia/rmia.h"
#include "models/checkpoint.h"
#include "tests/support/learning.h"
#include "train/reference_models.h"
#include "train/train_run.h"

using namespace lethe;
using namespace lethe::eval::mia;
using lethe::data::test::TempDir;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// run_training and run_reference_training set the OpenMP thread count for the process; the
// other tests get theirs back.
struct ThreadsGuard {
  int saved = omp_get_max_threads();
  ~ThreadsGuard() { omp_set_num_threads(saved); }
};

double log_normal(double x, double mu, double var) {
  return -0.5 * (x - mu) * (x - mu) / var - 0.5 * std::log(2 * M_PI * var);
}

// Overlapping Gaussian classes in 50 dimensions, 200 train + 200 test rows: an MLP memorizes its
// training half (labels of overlapping points are noise to it), so membership is visible.
constexpr const char* kSpec = "synthetic:mixture:10:50:400:sep=0.25:test=0.5";

train::TrainConfig small_config(const std::string& out, uint64_t seed) {
  train::TrainConfig c;
  c.model = "mlp";
  c.data = kSpec;
  c.out = out;
  c.epochs = 30;
  c.batch = 32;
  c.lr = 0.05;
  c.schedule = "constant";
  c.augment = "none";
  c.wd = 0;
  c.seed = seed;
  c.eval_every = 0;
  c.threads = 1;  // tiny batches: OpenMP threads only add contention
  return c;
}

}  // namespace

TEST_SUITE("eval") {
  TEST_CASE("lira: logit-scaled confidence is log(p/(1-p)) computed stably") {
    const float a[3] = {1, 0, 0};
    CHECK(logit_scaled_confidence(a, 3, 0) == doctest::Approx(1 - std::log(2.0)));
    const float b[4] = {0.5f, -1.0f, 2.0f, 0.25f};
    double z = std::exp(0.5) + std::exp(-1.0) + std::exp(2.0) + std::exp(0.25);
    double p = std::exp(2.0) / z;
    CHECK(logit_scaled_confidence(b, 4, 2) == doctest::Approx(std::log(p / (1 - p))));
    // p_y rounds to 1 in double here, yet φ stays finite: logit margin 200 minus log(1).
    const float c[2] = {200, 0};
    CHECK(logit_scaled_confidence(c, 2, 0) == doctest::Approx(200));
  }

  TEST_CASE("lira: online and offline scores, per-example and fixed variance, by hand") {
    // Two samples, four reference models; models 0,1 trained on sample 0, models 0,2 on sample 1.
    //   sample 0: IN φ {1, 3} (μ 2, σ² 1), OUT φ {-1, 1} (μ 0, σ² 1)
    //   sample 1: IN φ {0, 4} (μ 2, σ² 4), OUT φ {0, 0} (μ 0, σ² 0 → floored)
    const int64_t M = 4;
    std::vector<double> ref = {1, 0, 3, 0, -1, 4, 1, 0};  // [M, P] row-major
    std::vector<uint8_t> inc = {1, 1, 1, 0, 0, 1, 0, 0};
    std::vector<double> target = {2, 1};
    LiraOptions on;
    auto s = lira_scores(target, ref, inc, M, on);
    CHECK(s[0] == doctest::Approx(log_normal(2, 2, 1) - log_normal(2, 0, 1)));  // = 2
    CHECK(s[0] == doctest::Approx(2.0));
    LiraOptions off{false, false};
    s = lira_scores(target, ref, inc, M, off);
    CHECK(s[0] == doctest::Approx(2.0));                  // (2 - 0) / 1
    CHECK(s[1] == doctest::Approx(1.0 / kLiraMinSigma));  // σ_out 0, floored
    // Pooled: σ_in² = (2 + 8) / 4 = 2.5, σ_out² = (2 + 0) / 4 = 0.5.
    LiraOptions onf{true, true};
    s = lira_scores(target, ref, inc, M, onf);
    CHECK(s[1] == doctest::Approx(log_normal(1, 2, 2.5) - log_normal(1, 0, 0.5)));
    CHECK(s[0] == doctest::Approx(log_normal(2, 2, 2.5) - log_normal(2, 0, 0.5)));
    LiraOptions offf{false, true};
    s = lira_scores(target, ref, inc, M, offf);
    CHECK(s[1] == doctest::Approx(1 / std::sqrt(0.5)));
    CHECK(s[0] == doctest::Approx(2 / std::sqrt(0.5)));
    // A sample without OUT models is refused, naming it.
    std::vector<uint8_t> all_in(8, 1);
    CHECK(error_of([&] { lira_scores(target, ref, all_in, M, off); }).find("pool sample 0") !=
          std::string::npos);
  }

  TEST_CASE("rmia: Taylor soft-margin probability on a worked example") {
    // e_4(s) = 1 + s + s²/2 + s³/6.
    CHECK(truncated_exp(0.4, 4) == doctest::Approx(1 + 0.4 + 0.08 + 0.064 / 6));
    CHECK(truncated_exp(-2, 4) == doctest::Approx(-1.0 / 3));  // the cubic goes negative
    CHECK(truncated_exp(1, 30) == doctest::Approx(std::exp(1.0)));
    // logits {2, 0, -2}, label 0, T 2, m 0.6: s = {1, 0, -1};
    // own e_4(0.4) = 1.490667, others e_4(0) + e_4(-1) = 1 + 1/3.
    const float l[3] = {2, 0, -2};
    double own = 1 + 0.4 + 0.08 + 0.064 / 6;
    double pr = own / (own + 1 + 1.0 / 3);
    CHECK(pr == doctest::Approx(0.527856).epsilon(1e-5));
    CHECK(taylor_soft_margin_prob(l, 3, 0) == doctest::Approx(pr));
    // Label 2: own e_4(-1 - 0.6) = 1 - 1.6 + 1.28 - 0.682667 = -0.002667 (just below zero).
    double own2 = 1 - 1.6 + 1.28 - 1.6 * 1.6 * 1.6 / 6;
    double others2 = truncated_exp(1, 4) + 1;
    CHECK(taylor_soft_margin_prob(l, 3, 2) == doctest::Approx(own2 / (own2 + others2)));
  }

  TEST_CASE("rmia: Pr(x) online and offline, and LR counting against gamma") {
    // One sample, four models: IN {0.9, 0.8}, OUT {0.2, 0.4}.
    std::vector<double> pr = {0.9, 0.8, 0.2, 0.4};
    std::vector<uint8_t> inc = {1, 1, 0, 0};
    RmiaOptions on;
    CHECK(rmia_marginal(pr, inc, 4, on)[0] == doctest::Approx(0.575));
    RmiaOptions off;
    off.online = false;
    CHECK(rmia_marginal(pr, inc, 4, off)[0] == doctest::Approx(0.5 * (1.3 * 0.3 + 0.7)));
    // ratio_x = 3 against Z = {1, 1.4, 1.5, 2, -1, 0}: LR = 3, 2.14, 2 (not > 2), 1.5, -3, +inf.
    std::vector<double> ratio = {3, 1, 1.4, 1.5, 2, -1, 0};
    auto s = rmia_scores(ratio, {0}, {1, 2, 3, 4, 5, 6}, 2.0);
    CHECK(s[0] == doctest::Approx(3.0 / 6));
    // The sorted count equals the direct pairwise count on random ratios of both signs.
    std::vector<double> r(300);
    for (size_t i = 0; i < r.size(); ++i)
      r[i] = (static_cast<double>(data::uniform_below(7, i, 2001)) - 600) / 250.0;
    std::vector<int64_t> q, z;
    for (int64_t i = 0; i < 300; ++i) (i < 100 ? q : z).push_back(i);
    for (double g : {0.5, 1.0, 2.0}) {
      auto fast = rmia_scores(r, q, z, g);
      for (size_t i = 0; i < q.size(); ++i) {
        int64_t c = 0;
        for (int64_t zz : z) c += (r[q[i]] / r[zz]) > g;
        CHECK(fast[i] == doctest::Approx(static_cast<double>(c) / z.size()));
      }
    }
  }

  TEST_CASE("reference models: the inclusion matrix is balanced and seeded") {
    const int64_t M = 6, P = 1200;
    auto inc = train::balanced_inclusion(M, P, 3);
    for (int64_t p = 0; p < P; ++p) {
      int64_t in = 0;
      for (int64_t m = 0; m < M; ++m) in += inc[m * P + p];
      REQUIRE(in == M / 2);
    }
    // Each model gets about half the pool (binomial-like: ±5 sd is ±87 here).
    for (int64_t m = 0; m < M; ++m) {
      int64_t n = 0;
      for (int64_t p = 0; p < P; ++p) n += inc[m * P + p];
      CHECK(std::abs(n - P / 2) < 90);
    }
    CHECK(inc == train::balanced_inclusion(M, P, 3));
    CHECK(inc != train::balanced_inclusion(M, P, 4));
    auto odd = train::balanced_inclusion(5, P, 3);
    for (int64_t p = 0; p < P; ++p) {
      int64_t in = 0;
      for (int64_t m = 0; m < 5; ++m) in += odd[m * P + p];
      REQUIRE((in == 2 || in == 3));
    }
    CHECK(error_of([] { train::balanced_inclusion(1, 10, 0); }).find("--reference-models") !=
          std::string::npos);
  }

  TEST_CASE("reference MIA: --mia lists route the reference attacks") {
    std::vector<std::string> ref;
    CHECK(split_reference_attacks("loss,lira-online,svc,rmia-offline", true, ref) == "loss,svc");
    CHECK(ref == std::vector<std::string>{"lira-online", "rmia-offline"});
    CHECK(split_reference_attacks("all", true, ref) == "all");
    CHECK(ref == reference_attack_names());
    CHECK(split_reference_attacks("all", false, ref) == "all");
    CHECK(ref.empty());
    CHECK(split_reference_attacks("", true, ref).empty());
    CHECK(ref.size() == 6);
    CHECK(split_reference_attacks("loss", false, ref) == "loss");
    CHECK(error_of([&] {
            split_reference_attacks("loss,lira-offline", false, ref);
          }).find("--references") != std::string::npos);
  }

  TEST_CASE("reference MIA end to end: LiRA and RMIA find the members of an overfit MLP") {
    ThreadsGuard threads;
    TempDir tmp("refmia");
    const std::string refs_dir = tmp.file("refs"), target_dir = tmp.file("target");
    train::TrainConfig rc = small_config(refs_dir, 5);
    nlohmann::json rm = train::run_reference_training(rc, 8);
    REQUIRE(rm.at("reference_models").size() == 8);
    // The reference models memorize their halves: this gap is the signal the attacks use.
    double in_min = 100, gap_min = 100;
    for (const auto& r : rm.at("reference_models")) {
      in_min = std::min(in_min, r.at("in_acc").get<double>());
      gap_min = std::min(gap_min, r.at("in_acc").get<double>() - r.at("out_acc").get<double>());
    }
    testing::learning_above("refmia: worst reference model's in-half accuracy (%)", in_min, 85);
    testing::learning_above("refmia: worst in - out accuracy gap (points)", gap_min, 15);
    ReferenceSet refs = read_reference_set(refs_dir);
    CHECK(refs.models == 8);
    CHECK(refs.pool_size() == 400);
    CHECK(refs.classes == 10);
    // Resume: running again reuses every model's logits (config unchanged, metrics.json gone).
    std::filesystem::remove(refs_dir + "/metrics.json");
    nlohmann::json rm2 = train::run_reference_training(rc, 8);
    for (const auto& r : rm2.at("reference_models")) CHECK(r.at("reused").get<bool>());
    CHECK(read_reference_set(refs_dir).logits == refs.logits);

    // The target: the same recipe and pool, trained on the 200 training rows only.
    train::TrainConfig tc = small_config(target_dir, 5);
    train::run_training(tc);
    models::Checkpoint ck = models::load_checkpoint(target_dir + "/model.safetensors");
    data::DataSplit ds = data::load_training_data(kSpec, 5, 0);
    data::Normalization norm = data::Normalization::from_dataset(ds.train);
    PoolInfo pool = pool_info(ds, kSpec, 0, 5);
    nlohmann::json r = run_reference_mia_on_model(*ck.model, ds, norm, pool, refs_dir, nullptr, {});
    MESSAGE(r.dump());
    REQUIRE(r.size() == 6);
    // 100 members vs 100 non-members per draw: with no membership signal the AUC is 0.5 with a
    // standard error of about 0.04, so 0.65 is more than 3.5 standard errors above chance. An
    // overfit model (train ~100%, test well below) sits far above it for the online attacks.
    for (const char* a : {"lira-online", "lira-online-fixed", "rmia-online"}) {
      CAPTURE(a);
      testing::learning_above((std::string("refmia: AUC ") + a).c_str(),
                              r.at(a).at("auc").get<double>(), 0.65);
      CHECK(r.at(a).at("train_vs_test").at("members").get<int64_t>() == 100);
    }
    for (const char* a : {"lira-offline", "lira-offline-fixed", "rmia-offline"}) {
      CAPTURE(a);
      testing::learning_above((std::string("refmia: AUC ") + a).c_str(),
                              r.at(a).at("auc").get<double>(), 0.6);
    }
    CHECK(r.at("rmia-online").at("train_vs_test").at("population").get<int64_t>() == 100);

    // With a forget set: forget_vs_test first, retain_vs_test second.
    std::vector<int64_t> forget = {0, 3, 5, 7, 11, 13, 17, 19, 23, 29};
    nlohmann::json rf =
        run_reference_mia_on_model(*ck.model, ds, norm, pool, refs_dir, &forget, {"lira-online"});
    CHECK(rf.at("lira-online").at("split") == "forget_vs_test");
    CHECK(rf.at("lira-online").at("forget_vs_test").at("members").get<int64_t>() == 10);
    CHECK(rf.at("lira-online").at("retain_vs_test").at("members").get<int64_t>() == 100);

    // A target on another pool (another seed draws another mixture) is refused in one line.
    data::DataSplit other = data::load_training_data(kSpec, 6, 0);
    std::string err = error_of([&] {
      run_reference_mia_on_model(*ck.model, other, norm, pool_info(other, kSpec, 0, 6), refs_dir,
                                 nullptr, {});
    });
    CHECK(err.find("another data pool") != std::string::npos);
    CHECK(err.find("seed 6 vs 5") != std::string::npos);
    CHECK(err.find('\n') == std::string::npos);
    CHECK(error_of([&] {
            run_reference_mia_on_model(*ck.model, ds, norm, pool, refs_dir, nullptr, {"lira"});
          }).find("unknown reference attack 'lira'") != std::string::npos);
  }
}
