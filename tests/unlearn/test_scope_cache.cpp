// Layer scopes, end to end on a width-4 ResNet-18 over a small synthetic image set written as IDX
// files (so `lethe train` and `lethe unlearn` run as library calls, in seconds):
// - frozen means frozen: every registered method under --layers head and last:1 leaves every
//   parameter AND buffer (BatchNorm running statistics, num_batches_tracked) outside the scope
//   bit-identical to the model it started from, while something inside the scope changes (with
//   the pins of nn::Module::pin_eval disabled, every one of the 13 methods fails here);
// - cached prefix features: ft, amun, scrub and scoped retrain give the same model with and
//   without the cache to float32 rounding, the prefix runs once per sample when cached, and the
//   cache reports its cut, rows and bytes;
// - amun --opt search=features: the minimal-ε search runs on cached features against the suffix,
//   so the prefix runs once per row in the whole method, and its points flip the suffix;
// - lethe sweep: every method at every scope plus each scope's retrain and the full retrain,
//   evaluated, in one table whose references sit at gap 0 to themselves.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "data/forget.h"
#include "data/random.h"
#include "data/spec.h"
#include "engine/io/run_dir.h"
#include "engine/io/tensor_io.h"
#include "engine/nn/init.h"
#include "models/checkpoint.h"
#include "models/prefix_cache.h"
#include "models/registry.h"
#include "train/sisa_train.h"
#include "train/train_run.h"
#include "unlearn/context.h"
#include "unlearn/registry.h"
#include "unlearn/run.h"
#include "unlearn/scope.h"
#include "unlearn/sweep.h"

using namespace lethe;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    path = fs::temp_directory_path() / ("lethe_test_" + tag + "_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& s) const { return (path / s).string(); }
};

void put32(std::vector<uint8_t>& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

// n 12×12 images of 4 classes: a bright 6×6 quadrant per class over seeded noise.
void write_idx(const std::string& dir, const std::string& split, uint32_t n, uint64_t seed) {
  std::vector<uint8_t> img, lab;
  put32(img, 0x803);
  put32(img, n);
  put32(img, 12);
  put32(img, 12);
  put32(lab, 0x801);
  put32(lab, n);
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t c = i % 4;
    lab.push_back(static_cast<uint8_t>(c));
    for (uint32_t p = 0; p < 144; ++p) {
      const uint32_t r = p / 12, q = p % 12;
      const bool on = (r / 6) == c / 2 && (q / 6) == c % 2;
      const auto noise = static_cast<uint32_t>(data::uniform_below(seed, i * 144 + p, 120));
      img.push_back(static_cast<uint8_t>((on ? 100 : 0) + noise));
    }
  }
  std::ofstream(dir + "/" + split + "-images-idx3-ubyte", std::ios::binary)
      .write(reinterpret_cast<const char*>(img.data()), static_cast<std::streamsize>(img.size()));
  std::ofstream(dir + "/" + split + "-labels-idx1-ubyte", std::ios::binary)
      .write(reinterpret_cast<const char*>(lab.data()), static_cast<std::streamsize>(lab.size()));
}

// The data and three original runs (plain, --sisa 2:2, --amnesiac), trained once per process.
struct Runs {
  TempDir dir{"scope_cache"};
  std::string data, plain, sisa, amnesiac;
  Runs() {
    fs::create_directories(dir / "data");
    write_idx(dir / "data", "train", 200, 11);
    write_idx(dir / "data", "t10k", 40, 12);
    data = "mnist:" + (dir / "data");
    auto train = [&](const std::string& name, const std::string& sisa_spec, bool amn) {
      train::TrainConfig c;
      c.model = "resnet18";
      c.width = 4;
      c.data = data;
      c.out = dir / name;
      c.epochs = 3;
      c.batch = 32;
      c.lr = 0.05;
      c.augment = "none";
      c.seed = 3;
      c.eval_every = 0;
      c.sisa = sisa_spec;
      c.amnesiac = amn;
      train::run_training(c);
      return c.out;
    };
    plain = train("plain", "", false);
    sisa = train("sisa", "2:2", false);
    amnesiac = train("amnesiac", "", true);
  }
};

Runs& runs() {
  static Runs r;
  return r;
}

std::map<std::string, Tensor> load(const std::string& path) {
  return io::load_tensors(path).tensors;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) return false;
  if (a.dtype() == DType::I64) return a.to_vector_i64() == b.to_vector_i64();
  std::vector<float> x = a.to_vector(), y = b.to_vector();
  return std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

// The tensors of `model_path`'s model that a scope leaves trainable, with the buffers of their
// modules (a buffer belongs to the module its name's prefix names).
std::set<std::string> in_scope_tensors(const std::string& model_path, const std::string& scope) {
  auto m = models::load_checkpoint(model_path).model;
  std::set<std::string> params;
  for (const std::string& n : unlearn::apply_scope(*m, scope)) params.insert(n);
  std::set<std::string> modules;
  for (const std::string& n : params) modules.insert(n.substr(0, n.rfind('.')));
  std::set<std::string> out = params;
  for (auto& [n, t] : m->named_buffers())
    if (modules.count(n.substr(0, n.rfind('.')))) out.insert(n);
  return out;
}

// The checkpoint a SISA unlearning run's shard 0 (its model.safetensors) restarted from.
std::string sisa_shard0_base(const std::string& orig, const nlohmann::json& metrics) {
  for (const auto& r : metrics.at("method_report").at("requests"))
    for (const auto& s : r.at("shards_retrained"))
      if (s.at("shard") == 0) return orig + "/" + s.at("from").get<std::string>();
  return orig + "/" + train::read_sisa_manifest(orig).shards[0].slices.back().checkpoint;
}

// Samples through the stem (the only convolution with one input channel): how often the prefix ran.
struct StemCounter : nn::ForwardObserver {
  int64_t samples = 0;
  void after(const nn::Module& m, const Tensor& in, const Tensor&) override {
    if (m.type_name() == "Conv2d" && in.dim() == 4 && in.size(1) == 1) samples += in.size(0);
  }
};

struct MethodRun {
  std::map<std::string, Tensor> state;
  nlohmann::json cache;
  nlohmann::json phases;
  int64_t stem_samples = 0;
  size_t retain = 0, forget = 0;
};

// `method` on the plain run, forgetting every 10th row, with the cache on or off.
MethodRun run_method(const std::string& method, const std::string& scope, bool cached) {
  unlearn::OriginalRun orig = unlearn::load_original_run(runs().plain);
  unlearn::UnlearnOptions opt;
  opt.layers = scope;
  opt.epochs = 2;
  opt.batch = 32;
  opt.seed = 5;
  opt.cache_mb = cached ? 64 : 0;
  opt.extra = {{"steps", 3}, {"doublings", 1}};
  unlearn::PhaseTimer timer;
  unlearn::UnlearnContext ctx = unlearn::make_context(orig, opt, "", &timer);
  for (int64_t i = 0; i < ctx.train->size(); ++i)
    (i % 10 == 3 ? ctx.split.forget : ctx.split.retain).push_back(i);
  unlearn::apply_scope(*ctx.model, scope);
  StemCounter counter;
  {
    nn::ObserverGuard g(&counter);
    nn::manual_seed(7);
    unlearn::make_method(method)->run(ctx);
  }
  MethodRun r;
  for (auto& [n, t] : ctx.model->state_dict()) r.state.emplace(n, t.clone());
  r.cache = ctx.cache_report;
  r.phases = timer.to_json();
  r.stem_samples = counter.samples;
  r.retain = ctx.split.retain.size();
  r.forget = ctx.split.forget.size();
  return r;
}

}  // namespace

TEST_SUITE("unlearn") {
  TEST_CASE("frozen means frozen: every method leaves parameters and buffers outside the scope") {
    Runs& r = runs();
    std::vector<std::string> methods = unlearn::method_names();
    CHECK(std::find(methods.begin(), methods.end(), "scrub") != methods.end());
    for (const std::string& method : methods) {
      for (const std::string scope : {"head", "last:1"}) {
        CAPTURE(method);
        CAPTURE(scope);
        const std::string from = method == "sisa"       ? r.sisa
                                 : method == "amnesiac" ? r.amnesiac
                                                        : r.plain;
        unlearn::UnlearnRequest q;
        q.from = from;
        q.method = method;
        q.forget = "random:16";
        q.out = r.dir / ("u_" + method + "_" + scope);
        q.opt.layers = scope;
        q.opt.epochs = method == "sisa" ? -1 : 1;
        q.opt.batch = 32;
        q.opt.extra = {{"steps", 3}, {"doublings", 1}};  // AMUN's search, kept short
        // Uncached, so the frozen prefix runs in every training step (the cached path never runs
        // it in training; the cache test below shows it gives the same model).
        q.opt.cache_mb = 0;
        if (method == "newton" || method == "fair-newton") {
          // Linear-head removal only (tests/train/test_linear_head.cpp covers --layers
          // head): a wider scope is refused, before anything is changed.
          if (scope == "last:1") CHECK_THROWS_AS(unlearn::run_unlearning(q), Error);
          continue;
        }
        nlohmann::json m = unlearn::run_unlearning(q);
        CHECK(m.at("write_s").get<double>() >= 0);  // writing the run directory, apart
        const std::string before_path =
            method == "sisa" ? sisa_shard0_base(from, m) : from + "/model.safetensors";
        std::map<std::string, Tensor> before = load(before_path);
        std::map<std::string, Tensor> after = load(q.out + "/model.safetensors");
        std::set<std::string> in = in_scope_tensors(from + "/model.safetensors", scope);
        int64_t frozen = 0, changed_inside = 0;
        for (auto& [n, t] : before) {
          REQUIRE(after.count(n));
          const bool same = same_bits(t, after.at(n));
          if (in.count(n)) {
            changed_inside += !same;
          } else {
            INFO("outside the scope: " << n);
            CHECK(same);
            ++frozen;
          }
        }
        CHECK(frozen > 0);
        CHECK(changed_inside > 0);  // the method did something inside the scope
        if (method == "ft" && scope == "last:1") {
          // In-scope BatchNorm layers update their running statistics as in training.
          CHECK_FALSE(same_bits(before.at("layer4.1.bn1.running_mean"),
                                after.at("layer4.1.bn1.running_mean")));
        }
      }
    }
  }

  TEST_CASE("a frozen module stays in eval mode through train(true); clear_scope releases it") {
    auto m = models::load_checkpoint(runs().plain + "/model.safetensors").model;
    unlearn::apply_scope(*m, "last:1");
    m->train(true);
    CHECK_FALSE(m->find_module("bn1")->is_training());
    CHECK_FALSE(m->find_module("layer4.0.bn2")->is_training());
    CHECK(m->find_module("layer4.1.bn2")->is_training());
    CHECK(m->find_module("fc")->is_training());
    unlearn::clear_scope(*m);
    m->train(true);
    CHECK(m->find_module("bn1")->is_training());
  }

  TEST_CASE("cached prefix features: the uncached model to float32 rounding, the prefix once") {
    for (const std::string method : {"ft", "scrub", "retrain", "amun"}) {
      for (const std::string scope : {"head", "last:1", "last:2"}) {
        CAPTURE(method);
        CAPTURE(scope);
        MethodRun c = run_method(method, scope, true), u = run_method(method, scope, false);
        REQUIRE(c.cache.value("used", false));
        CHECK(c.cache.at("cut") == (scope == "head"     ? "features"
                                    : scope == "last:1" ? "layer4.1"
                                                        : "layer4.0"));
        int64_t row = 1;
        for (int64_t d : c.cache.at("row_shape")) row *= d;
        const int64_t rows = c.cache.at("rows");
        CHECK(c.cache.at("bytes").get<int64_t>() == rows * row * 4);
        CHECK(c.phases.contains("prefix cache"));
        CHECK_FALSE(u.cache.value("used", true));
        CHECK(u.cache.at("reason") == "--cache-mb 0");
        // The prefix ran once per cached row; uncached, once per row and epoch (and more).
        if (method == "ft" || method == "retrain") {
          CHECK(rows == static_cast<int64_t>(c.retain));
          CHECK(c.stem_samples == rows);
          CHECK(u.stem_samples == 2 * static_cast<int64_t>(c.retain));
        } else {
          CHECK(c.stem_samples < u.stem_samples);
        }
        double worst = 0;
        std::string where;
        for (auto& [n, t] : c.state) {
          if (t.dtype() != DType::F32) {
            CHECK(same_bits(t, u.state.at(n)));
            continue;
          }
          std::vector<float> a = t.to_vector(), b = u.state.at(n).to_vector();
          for (size_t i = 0; i < a.size(); ++i) {
            const double d = std::fabs(a[i] - b[i]) / std::max(1.0, std::fabs(double(b[i])));
            if (d > worst) {
              worst = d;
              where = n;
            }
          }
        }
        MESSAGE(method << " " << scope << ": largest relative difference cached vs uncached "
                       << worst << " at " << where);
        CHECK(worst <= 1e-5);
      }
    }
  }

  TEST_CASE("sweep: methods × scopes with the scope's own and the full retrain as references") {
    Runs& r = runs();
    unlearn::SweepRequest q;
    q.from = r.plain;
    q.forget = "random:16";
    q.out = r.dir / "sweep";
    q.methods = {"ft"};
    q.scopes = {"head", "last:1"};
    q.mia = "svc";  // the gap's fourth column (--gap svc)
    q.opt.epochs = 1;
    q.opt.batch = 32;
    nlohmann::json j = unlearn::run_sweep(q);
    const nlohmann::json& rows = j.at("rows");
    REQUIRE(rows.size() == 6);  // retrain head, last:1, all; newton head; ft head, last:1
    std::map<std::string, nlohmann::json> by;
    for (const auto& row : rows)
      by[row.at("method").get<std::string>() + " " + row.at("scope").get<std::string>()] = row;
    CHECK(by.at("retrain head").at("avg_gap_scope_retrain") == 0.0);
    CHECK(by.at("retrain all").at("avg_gap_full_retrain") == 0.0);
    CHECK(by.at("ft head").at("avg_gap_full_retrain").get<double>() >= 0);
    CHECK(by.at("ft last:1").at("prefix_cache").at("used") == true);
    CHECK(by.at("ft last:1").at("mia_name") == "svc efficacy %");
    CHECK(by.at("ft last:1").at("fairness_gap").get<double>() >= 0);
    // The head's closed-form reference ran (the original was trained with weight decay).
    REQUIRE_FALSE(by.at("newton head").contains("skipped"));
    CHECK(by.at("newton head").at("avg_gap_scope_retrain").get<double>() >= 0);
    // Cost columns: FLOPs and peak tensor memory of the unlearning; the retrained head on cached
    // features costs a fraction of the full retrain.
    for (const auto& [k, row] : by) {
      CAPTURE(k);
      CHECK(row.at("flops").at("total").get<double>() > 0);
      CHECK(row.at("peak_tensor_bytes").get<double>() >=
            row.at("start_tensor_bytes").get<double>());
    }
    CHECK(by.at("retrain head").at("flops").at("total").get<double>() <
          by.at("retrain all").at("flops").at("total").get<double>() / 2);
    for (const char* f : {"sweep.md", "sweep.csv", "sweep.svg", "sweep.json"})
      CHECK(fs::exists(q.out + "/" + f));
    std::ifstream md(q.out + "/sweep.md");
    std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
    CHECK(text.find("| ft | last:1 |") != std::string::npos);
    CHECK(text.find("| newton | head |") != std::string::npos);
    CHECK(text.find("GFLOP") != std::string::npos);

    // Resumed: finished runs are not redone (their files untouched), the table is the same; a
    // run whose settings changed (here: epochs) is redone.
    const auto stamp = fs::last_write_time(q.out + "/ft-last_1/model.safetensors");
    nlohmann::json again = unlearn::run_sweep(q);
    CHECK(fs::last_write_time(q.out + "/ft-last_1/model.safetensors") == stamp);
    CHECK(again.at("rows") == rows);
    q.opt.epochs = 2;
    unlearn::run_sweep(q);
    CHECK(fs::last_write_time(q.out + "/ft-last_1/model.safetensors") != stamp);
    CHECK(io::read_json(q.out + "/ft-last_1/config.json").at("epochs") == 2);
  }

  TEST_CASE("amun search=features: the search in feature space, the prefix once per row") {
    for (const std::string scope : {"head", "last:1"}) {
      CAPTURE(scope);
      unlearn::OriginalRun orig = unlearn::load_original_run(runs().plain);
      unlearn::UnlearnOptions opt;
      opt.layers = scope;
      opt.epochs = 1;
      opt.batch = 32;
      opt.extra = {{"search", "features"}};  // the default search: 50 steps, 12 doublings
      unlearn::PhaseTimer timer;
      unlearn::UnlearnContext ctx = unlearn::make_context(orig, opt, "", &timer);
      for (int64_t i = 0; i < ctx.train->size(); ++i)
        (i % 10 == 3 ? ctx.split.forget : ctx.split.retain).push_back(i);
      unlearn::apply_scope(*ctx.model, scope);
      StemCounter counter;
      {
        nn::ObserverGuard g(&counter);
        unlearn::make_method("amun")->run(ctx);
      }
      CHECK(counter.samples == ctx.train->size());  // D_R ∪ D_F once; D_A never needs it
      CHECK(ctx.cache_report.at("used") == true);
      CHECK_FALSE(ctx.cache_report.contains("uncached"));
      CHECK(ctx.report.at("search") == "features");
      const nlohmann::json& sr = ctx.report.at("adversarial_search");
      CHECK(sr.at("count") == ctx.split.forget.size());
      CHECK(sr.at("never_flipped").get<int64_t>() < sr.at("count").get<int64_t>());
      CHECK(sr.at("eps").at("max").get<double>() > 0);
    }
    // Without the cache there are no features to search in: one clear error.
    unlearn::OriginalRun orig = unlearn::load_original_run(runs().plain);
    unlearn::UnlearnOptions opt;
    opt.layers = "head";
    opt.cache_mb = 0;
    opt.extra = {{"search", "features"}};
    unlearn::PhaseTimer timer;
    unlearn::UnlearnContext ctx = unlearn::make_context(orig, opt, "", &timer);
    ctx.split.forget = {1, 2, 3};
    for (int64_t i = 4; i < ctx.train->size(); ++i) ctx.split.retain.push_back(i);
    unlearn::apply_scope(*ctx.model, "head");
    CHECK_THROWS_WITH_AS(unlearn::make_method("amun")->run(ctx),
                         doctest::Contains("--opt search=features needs the cached prefix"),
                         lethe::Error);
    opt.extra = {{"search", "pixels"}};
    ctx.opt = opt;
    CHECK_THROWS_WITH_AS(unlearn::make_method("amun")->run(ctx),
                         doctest::Contains("--opt search=pixels"), lethe::Error);
  }
}
