// lethe unlearn --seeds (one run directory per seed, one forget set, refusal of existing
// results) and lethe tune (unlearn/tune.h) on an MLP over a synthetic 4-class mixture: a grid of
// four ft candidates scored against an evaluated retrain, the winner is the argmin of the gaps
// compare computes, every row is written, and a rerun after deleting one candidate redoes only
// that one. --budget draws distinct grid points, deterministically.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "data/forget.h"
#include "engine/core/error.h"
#include "engine/io/run_dir.h"
#include "eval/compare.h"
#include "eval/run_eval.h"
#include "train/train_run.h"
#include "unlearn/run.h"
#include "unlearn/tune.h"

using namespace lethe;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// An original MLP run and its evaluated retrain on the forget set random:40, in a fresh folder.
struct Runs {
  fs::path root;
  std::string from, retrain_eval;
  const std::string forget = "random:40";
  Runs() {
    root = fs::temp_directory_path() / ("lethe_tune_" + std::to_string(::getpid()));
    fs::remove_all(root);
    train::TrainConfig c;
    c.model = "mlp";
    c.data = "synthetic:mixture:4:8:400:sep=1";
    c.out = (root / "orig").string();
    c.epochs = 8;
    c.batch = 32;
    c.lr = 0.05;
    c.augment = "none";
    c.seed = 2;
    c.eval_every = 0;
    train::run_training(c);
    from = c.out;
    unlearn::UnlearnRequest u;
    u.from = from;
    u.method = "retrain";
    u.forget = forget;
    u.out = (root / "retrain").string();
    unlearn::run_unlearning(u);
    eval::EvalRequest e;
    e.from = u.out;
    e.forget_file = u.out + "/forget.txt";
    e.out = (root / "retrain-eval").string();
    e.mia = "svc";
    eval::run_eval(e);
    retrain_eval = e.out;
  }
  ~Runs() { fs::remove_all(root); }
};

Runs& runs() {
  static Runs r;
  return r;
}

unlearn::TuneRequest tune_request(const std::string& out) {
  Runs& r = runs();
  unlearn::TuneRequest q;
  q.from = r.from;
  q.method = "ft";
  q.forget = r.forget;
  q.reference = r.retrain_eval;
  q.out = out;
  q.gap = "svc";  // no reference models needed
  q.grid = unlearn::parse_grid({"lr=0.002,0.05", "epochs=1,4"});
  q.opt.batch = 32;
  return q;
}

}  // namespace

TEST_SUITE("unlearn") {
  TEST_CASE("unlearn --seeds: one run per seed, one forget set, existing results refused") {
    Runs& r = runs();
    unlearn::UnlearnRequest u;
    u.from = r.from;
    u.method = "ft";
    u.forget = r.forget;
    u.out = (r.root / "ft-seeds").string();
    u.opt.epochs = 2;
    u.opt.batch = 32;
    u.opt.seed = 7;
    nlohmann::json g = unlearn::run_unlearning_seeds(u, 3);
    CHECK(g.at("seeds") == nlohmann::json::array({7, 8, 9}));
    std::string forget0;
    std::vector<std::string> models;
    for (uint64_t s : {7u, 8u, 9u}) {
      const std::string d = unlearn::seed_dir(u.out, s);
      CAPTURE(d);
      REQUIRE(fs::exists(d + "/metrics.json"));
      CHECK(io::read_json(d + "/config.json").at("seed").get<uint64_t>() == s);
      // The forget set is the original's, whatever the method's seed.
      if (forget0.empty()) forget0 = slurp(d + "/forget.txt");
      CHECK(slurp(d + "/forget.txt") == forget0);
      models.push_back(slurp(d + "/model.safetensors"));
    }
    CHECK(slurp(r.root / "retrain" / "forget.txt") == forget0);
    // Different seeds, different batch orders: different models.
    CHECK(models[0] != models[1]);
    CHECK(models[1] != models[2]);
    CHECK_FALSE(fs::exists(u.out + "/metrics.json"));  // a group, not a run
    CHECK(fs::exists(u.out + "/seeds.json"));
    CHECK(eval::seed_group_members(u.out).size() == 3);
    // A rerun would overwrite seed-8's results: refused before anything runs.
    const std::string before = slurp(unlearn::seed_dir(u.out, 8) + "/metrics.json");
    u.opt.seed = 8;
    CHECK_THROWS_WITH_AS(unlearn::run_unlearning_seeds(u, 2), doctest::Contains("--overwrite"),
                         Error);
    CHECK(slurp(unlearn::seed_dir(u.out, 8) + "/metrics.json") == before);
    CHECK_THROWS_WITH_AS(unlearn::run_unlearning_seeds(u, 0), doctest::Contains("--seeds"), Error);
  }

  TEST_CASE("tune: a grid of four, the winner is the argmin of the gap, resumable") {
    Runs& r = runs();
    const std::string out = (r.root / "tune").string();
    unlearn::TuneRequest q = tune_request(out);
    nlohmann::json t = unlearn::run_tune(q);
    REQUIRE(t.at("rows").size() == 4);
    CHECK(t.at("candidates_done") == 4);
    // Each row's gap is compare's gap of that candidate's evaluation; the winner is their argmin.
    eval::CompareOptions co;
    co.gap = "svc";
    double best = 1e300;
    std::string best_name;
    std::vector<double> gaps;
    for (const auto& row : t.at("rows")) {
      CHECK_FALSE(row.at("reused").get<bool>());
      eval::CompareRow c = eval::compare_runs({row.at("eval_dir")}, r.retrain_eval, co).at(0);
      REQUIRE(c.avg_gap >= 0);
      CHECK(row.at("avg_gap").get<double>() == doctest::Approx(c.avg_gap));
      gaps.push_back(c.avg_gap);
      if (c.avg_gap < best) best = c.avg_gap, best_name = row.at("name");
      // The candidate really ran with its settings.
      nlohmann::json cfg = io::read_json(row.at("dir").get<std::string>() + "/config.json");
      CHECK(cfg.at("lr").get<double>() ==
            std::stod(row.at("settings").at("lr").get<std::string>()));
      CHECK(cfg.at("epochs").get<int64_t>() ==
            std::stoll(row.at("settings").at("epochs").get<std::string>()));
    }
    MESSAGE("tune gaps: " << gaps[0] << ", " << gaps[1] << ", " << gaps[2] << ", " << gaps[3]);
    CHECK(gaps[0] != gaps[3]);  // the settings matter, so the argmin means something
    CHECK(t.at("winner").at("name") == best_name);
    const std::string win_dir = out + "/candidates/" + best_name;
    CHECK(slurp(out + "/winner/model.safetensors") == slurp(win_dir + "/model.safetensors"));
    CHECK(fs::exists(out + "/winner-eval/metrics.json"));
    CHECK(slurp(out + "/tune.md").find("**" + best_name + "**") != std::string::npos);
    const std::string tsv = slurp(out + "/tune.tsv");
    CHECK(std::count(tsv.begin(), tsv.end(), '\n') == 5);  // header + 4 rows

    // Delete one candidate; the rerun redoes only it and reads the others back untouched.
    const std::string gone = t.at("rows")[1].at("name");
    std::map<std::string, fs::file_time_type> stamps;
    for (const auto& row : t.at("rows"))
      stamps[row.at("name")] =
          fs::last_write_time(row.at("dir").get<std::string>() + "/model.safetensors");
    fs::remove_all(out + "/candidates/" + gone);
    fs::remove_all(out + "/candidates/" + gone + "-eval");
    nlohmann::json t2 = unlearn::run_tune(q);
    REQUIRE(t2.at("rows").size() == 4);
    for (const auto& row : t2.at("rows")) {
      const std::string name = row.at("name");
      CAPTURE(name);
      CHECK(row.at("reused").get<bool>() == (name != gone));
      if (name != gone)
        CHECK(fs::last_write_time(row.at("dir").get<std::string>() + "/model.safetensors") ==
              stamps[name]);
    }
    // Same settings, same seed, same thread count: the redone candidate matches its first run.
    CHECK(t2.at("rows")[1].at("avg_gap").get<double>() ==
          doctest::Approx(t.at("rows")[1].at("avg_gap").get<double>()));
    CHECK(t2.at("winner").at("name") == best_name);

    // Another search in the same directory is refused; a malformed grid is one clear error.
    unlearn::TuneRequest other = q;
    other.method = "rl";
    CHECK_THROWS_WITH_AS(unlearn::run_tune(other), doctest::Contains("another search"), Error);
    CHECK_THROWS_WITH_AS(unlearn::parse_grid({"lr"}), doctest::Contains("--grid 'lr'"), Error);
    CHECK_THROWS_WITH_AS(unlearn::parse_grid({"lr=1", "lr=2"}), doctest::Contains("twice"), Error);
    unlearn::TuneRequest bad = tune_request((r.root / "tune-bad").string());
    bad.grid = unlearn::parse_grid({"lr=fast"});
    CHECK_THROWS_WITH_AS(unlearn::run_tune(bad), doctest::Contains("--grid lr=fast"), Error);
    CHECK_FALSE(fs::exists(r.root / "tune-bad" / "candidates"));  // refused before any work
  }

  TEST_CASE("tune --budget: K distinct grid points, the same for the same --seed") {
    unlearn::TuneRequest q;
    q.grid = unlearn::parse_grid({"lr=1,2,3,4", "epochs=1,2,3", "alpha=x,y"});
    CHECK(unlearn::tune_candidates(q).size() == 24);
    CHECK(unlearn::tune_candidates(q)[0].name == "lr=1_epochs=1_alpha=x");
    CHECK(unlearn::tune_candidates(q)[1].name == "lr=1_epochs=1_alpha=y");
    q.budget = 5;
    q.search_seed = 3;
    auto a = unlearn::tune_candidates(q), b = unlearn::tune_candidates(q);
    REQUIRE(a.size() == 5);
    std::set<int64_t> idx;
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].name == b[i].name);
      idx.insert(a[i].index);
    }
    CHECK(idx.size() == 5);
    q.search_seed = 4;
    auto c = unlearn::tune_candidates(q);
    bool differs = false;
    for (size_t i = 0; i < a.size(); ++i) differs |= a[i].index != c[i].index;
    CHECK(differs);
    q.budget = 100;  // more than the grid: the whole grid
    CHECK(unlearn::tune_candidates(q).size() == 24);
    // A method option in the grid goes to --opt; lr and epochs to the common options.
    unlearn::UnlearnOptions o = unlearn::candidate_options(q, unlearn::tune_candidates(q)[1]);
    CHECK(o.lr == 1);
    CHECK(o.epochs == 1);
    CHECK(o.extra.at("alpha") == "y");
  }
}
