#include "unlearn/profile_run.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "data/forget.h"
#include "data/loader.h"
#include "data/random.h"
#include "data/spec.h"
#include "engine/backend/backend.h"
#include "engine/backend/device_options.h"
#include "engine/backend/system_info.h"
#include "engine/io/run_dir.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"
#include "engine/profile/layer_profile.h"
#include "eval/report/svg.h"
#include "train/train_run.h"
#include "unlearn/context.h"
#include "unlearn/options.h"
#include "unlearn/scope.h"

namespace lethe::unlearn {
namespace {

template <class... Args>
std::string printf_string(const char* format, Args... args) {
  const int n = std::snprintf(nullptr, 0, format, args...);
  std::string s(static_cast<size_t>(n), '\0');
  std::snprintf(s.data(), s.size() + 1, format, args...);
  return s;
}

data::Batch make_batch(const data::Dataset& d, const std::vector<int64_t>& rows) {
  data::LoaderOptions lo;
  lo.shuffle = false;
  lo.background = false;
  data::Loader loader(d, rows, lo);
  return loader.make_batch(rows, 0);
}

// One unmeasured forward/backward (allocator cache, OpenMP pool); parameters, gradients and
// buffers (BN running statistics) are put back as they were.
void warm_up(models::Classifier& model, const data::Normalization& norm, const data::Batch& b) {
  std::vector<std::pair<Tensor, Tensor>> saved;
  for (auto& [n, t] : model.state_dict()) saved.push_back({t, t.clone()});
  model.train(true);
  Tensor loss = ops::cross_entropy(model.forward(norm.apply(b.x)), b.y);
  loss.backward();
  model.zero_grad();
  for (auto& [t, copy] : saved) Tensor(t).copy_(copy);
}

// A fresh model `req.model` on req.data (default fashion-mnist), initialized from req.opt.seed; its
// config is the recipe of an untrained run.
OriginalRun fresh_original_run(const ProfileRequest& req) {
  train::TrainConfig tc;
  tc.model = req.model;
  tc.width = req.width;
  tc.stem = req.stem;
  tc.data = req.data.empty() ? "fashion-mnist" : req.data;
  tc.epochs = req.opt.epochs;
  tc.batch = req.opt.batch;
  tc.augment = "none";
  tc.seed = req.opt.seed;
  OriginalRun r;
  r.data = data::load_training_data(tc.data, tc.seed, 0);
  const data::Dataset& tr = r.data.train;
  nlohmann::json ov = nlohmann::json::object();
  if (req.width > 0) ov["width"] = req.width;
  if (!req.stem.empty()) ov["stem"] = req.stem;
  r.model_config = models::config_for(req.model, tr.is_image() ? tr.channels() : tr.width(),
                                      tr.is_image() ? tr.height() : 1, tr.num_classes, ov);
  nn::manual_seed(req.opt.seed);
  r.model = models::build_model(r.model_config);
  r.norm = data::Normalization::from_dataset(tr);
  r.config = tc.to_json();
  return r;
}

// `warmup` unmeasured then `steps` measured SGD steps, each one pass of the shared epoch loop
// over its own rows (a seeded choice of the training set, in order). Returns the run description.
nlohmann::json profile_training(const ProfileRequest& req, const OriginalRun& orig,
                                profile::LayerProfiler& prof, int64_t warmup) {
  const data::Dataset& train = orig.data.train;
  const int64_t n_steps = req.steps + warmup;
  std::vector<int64_t> rows =
      data::choose_sorted(data::all_indices(train), n_steps * req.opt.batch,
                          data::stream_key(req.opt.seed, data::kProfileTrainRows));
  LETHE_CHECK(static_cast<int64_t>(rows.size()) >= 2 * n_steps, "--steps ", req.steps,
              ": the training set has only ", rows.size(), " rows");
  const optim::SgdOptions so{
      .lr = req.opt.lr > 0 ? req.opt.lr : 0.01, .momentum = 0.9, .weight_decay = 5e-4};
  optim::SGD opt(trainable_parameters(*orig.model), so);
  for (int64_t s = 0; s < n_steps; ++s) {
    size_t lo = rows.size() * s / n_steps, hi = rows.size() * (s + 1) / n_steps;
    const bool measured = s >= warmup;
    train::EpochOptions eo;
    eo.batch = static_cast<int64_t>(hi - lo);
    eo.shuffle = false;
    if (measured) {
      eo.before_step = [&prof](const data::Batch&) { prof.start(); };
      eo.after_step = [&prof] { prof.stop(); };
    }
    train::EpochStats st = train::train_epoch(
        *orig.model, opt, train, std::vector<int64_t>(rows.begin() + lo, rows.begin() + hi),
        orig.norm, eo, 0, nullptr);
    std::fprintf(stderr, "profile: train step %lld/%lld%s, loss %.4f\n",
                 static_cast<long long>(s + 1), static_cast<long long>(n_steps),
                 measured ? "" : " (warm-up)", st.loss);
  }
  return {{"steps", req.steps}, {"warmup", warmup}, {"lr", so.lr}};
}

// The method as lethe unlearn runs it, on the --forget set and --retain rows of the rest.
// Returns the run description.
nlohmann::json profile_method(const ProfileRequest& req, Method& method, const OriginalRun& orig,
                              const nlohmann::json& options, profile::LayerProfiler& prof,
                              PhaseTimer& timer, int64_t warmup) {
  const data::Dataset& train = orig.data.train;
  // Drawn with the original's seed, as lethe unlearn draws it (unlearn/run.cpp).
  data::ForgetSplit full =
      data::make_forget_split(req.forget, train, orig.config.value("seed", uint64_t{0}));
  LETHE_CHECK(!full.forget.empty(), "--forget ", req.forget, ": selects no training sample");
  UnlearnOptions opt = req.opt;
  opt.extra = options;
  UnlearnContext ctx = make_context(orig, opt, req.out, &timer);
  ctx.split.forget = full.forget;
  ctx.split.retain = data::choose_sorted(full.retain, req.retain,
                                         data::stream_key(req.opt.seed, data::kProfileRetainRows));
  if (warmup > 0) {
    std::vector<int64_t> wrows(
        ctx.split.retain.begin(),
        ctx.split.retain.begin() + std::min<size_t>(req.opt.batch, ctx.split.retain.size()));
    if (wrows.size() >= 2) warm_up(*ctx.model, ctx.norm, make_batch(train, wrows));
  }
  std::fprintf(stderr, "profile: %s on %zu forget + %zu retain samples, scope %s\n",
               req.method.c_str(), ctx.split.forget.size(), ctx.split.retain.size(),
               req.opt.layers.c_str());
  prof.start();
  method.run(ctx);
  prof.stop();
  nlohmann::json run_info = {{"forget", req.forget},
                             {"forget_size", ctx.split.forget.size()},
                             {"retain_size", ctx.split.retain.size()},
                             {"epochs", req.opt.epochs},
                             {"phases_s", timer.to_json()}};
  if (!ctx.report.empty()) run_info["method_report"] = ctx.report;
  if (!ctx.cache_report.empty()) run_info["prefix_cache"] = ctx.cache_report;
  return run_info;
}

// profile.svg: forward and backward time of the model's children, stacked.
std::string time_chart(const profile::ProfileReport& rep, const ProfileRequest& req) {
  std::vector<std::string> names;
  std::vector<double> fwd, bwd;
  for (const profile::ModuleCost& mc : rep.modules)
    if (mc.depth == 1) {
      names.push_back(mc.name);
      fwd.push_back(1e3 * mc.total.fwd_s);
      bwd.push_back(1e3 * mc.total.bwd_s);
    }
  names.push_back("(outside modules)");
  fwd.push_back(0);
  bwd.push_back(1e3 * rep.outside.bwd_s);
  eval::svg::BarOptions bo;
  bo.title = "per-layer time: " + req.method + " --layers " + req.opt.layers;
  bo.ylabel = "ms (whole run)";
  bo.stacked = true;
  return eval::svg::bar_chart(names, {{"forward", fwd}, {"backward", bwd}}, bo);
}

}  // namespace

ProfileResult run_profile(const ProfileRequest& req) {
  namespace fs = std::filesystem;
  auto t_start = std::chrono::steady_clock::now();
  LETHE_CHECK(!req.from.empty() || !req.model.empty(),
              "profile: one of --from DIR or --model NAME is required");
  LETHE_CHECK(req.opt.batch >= 2, "--batch must be ≥ 2, got ", req.opt.batch);
  LETHE_CHECK(req.steps >= 1, "--steps must be ≥ 1, got ", req.steps);
  LETHE_CHECK(req.warmup >= 0, "--warmup must be ≥ 0, got ", req.warmup);
  LETHE_CHECK(req.opt.epochs >= 1, "--epochs must be ≥ 1, got ", req.opt.epochs);
  const bool training = req.method == "train";
  if (!training) make_method(req.method);  // a bad name fails here, before any work
  LETHE_CHECK(!(req.method == "sisa" || req.method == "amnesiac") || !req.from.empty(), "--method ",
              req.method, " needs --from a run trained with --", req.method,
              " (its shards or recorded updates), not --model");
  LETHE_CHECK(req.repeats >= 1, "--repeats must be ≥ 1, got ", req.repeats);
  if (req.threads > 0) omp_set_num_threads(req.threads);
  nlohmann::json options = parse_method_options(req.options);
  if (req.short_run) add_short_run_defaults(req.method, options);

  // The model, its data and normalization: a run's, or fresh ones.
  OriginalRun orig =
      !req.from.empty() ? load_original_run(req.from, req.data) : fresh_original_run(req);
  const models::ModelConfig& mc = orig.model_config;
  LETHE_CHECK(req.overwrite || !fs::exists(req.out + "/profile.json"), "--out ", req.out,
              " already holds profile.json (use --overwrite to replace it)");
  io::prepare_run_dir(req.out, req.overwrite);
  apply_scope(*orig.model, req.opt.layers);

  // Every repeat of a method starts from the original's state (parameters and buffers).
  std::vector<std::pair<Tensor, Tensor>> original_state;
  if (!training && req.repeats > 1)
    for (auto& [n, t] : orig.model->state_dict()) original_state.push_back({t, t.clone()});
  std::vector<profile::ProfileReport> reps;
  std::vector<nlohmann::json> infos;
  std::vector<nlohmann::json> phases;
  for (int64_t r = 0; r < req.repeats; ++r) {
    if (r > 0)
      for (auto& [t, copy] : original_state) Tensor(t).copy_(copy);
    if (req.repeats > 1)
      std::fprintf(stderr, "profile: repeat %lld/%lld\n", static_cast<long long>(r + 1),
                   static_cast<long long>(req.repeats));
    profile::LayerProfiler prof(*orig.model);
    PhaseTimer timer;
    const int64_t warmup = r == 0 ? req.warmup : 0;  // the caches and pool stay warm
    if (training) {
      infos.push_back(profile_training(req, orig, prof, warmup));
    } else {
      // A fresh method object: methods may cache per run (newton's features and θ).
      std::unique_ptr<Method> fresh = make_method(req.method);
      infos.push_back(profile_method(req, *fresh, orig, options, prof, timer, warmup));
    }
    reps.push_back(prof.report());
    phases.push_back(timer.to_json());
  }
  clear_scope(*orig.model);

  // The repeat of median wall time stands for the run; the spread is beside it.
  std::vector<size_t> order(reps.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&reps](size_t a, size_t b) { return reps[a].wall_s < reps[b].wall_s; });
  const size_t med = order[order.size() / 2];
  const profile::ProfileReport& rep = reps[med];
  const nlohmann::json& run_info = infos[med];
  nlohmann::json spread_modules = nlohmann::json::object();
  bool same_flops = true;
  for (size_t k = 0; k < rep.modules.size(); ++k) {
    std::vector<double> ms;
    for (const profile::ProfileReport& x : reps) {
      const profile::Cost& c = x.modules[k].total;
      ms.push_back(1e3 * (c.fwd_s + c.bwd_s));
      same_flops = same_flops && c.fwd_flops == rep.modules[k].total.fwd_flops &&
                   c.bwd_flops == rep.modules[k].total.bwd_flops;
    }
    std::sort(ms.begin(), ms.end());
    spread_modules[rep.modules[k].name.empty() ? "(model)" : rep.modules[k].name] = {
        {"min_ms", ms.front()}, {"median_ms", ms[ms.size() / 2]}, {"max_ms", ms.back()}};
  }
  nlohmann::json walls = nlohmann::json::array();
  for (const profile::ProfileReport& x : reps) walls.push_back(x.wall_s);
  const double wall_min = reps[order.front()].wall_s, wall_max = reps[order.back()].wall_s;
  nlohmann::json j = rep.to_json();
  j["repeats"] = {
      {"n", req.repeats},       {"median_repeat", med},          {"wall_s", walls},
      {"wall_s_min", wall_min}, {"wall_s_median", rep.wall_s},   {"wall_s_max", wall_max},
      {"phases_s", phases},     {"flops_identical", same_flops}, {"modules", spread_modules}};
  j["method"] = req.method;
  j["layers"] = req.opt.layers;
  j["model"] = mc.name;
  j["model_config"] = mc.to_json();
  j["batch"] = req.opt.batch;
  j["run"] = run_info;
  j["device"] = current_backend().name();  // the backend that ran it
  j["device_options"] = to_json(device_options());
  j["threads"] = omp_get_max_threads();
  const double steps = training ? static_cast<double>(req.steps)
                                : static_cast<double>(std::max<int64_t>(rep.walks, 1));
  const profile::Cost& all = rep.modules.at(0).total;
  j["per_step"] = {{"steps", steps},
                   {"definition", training ? "training step" : "backward walk"},
                   {"wall_s", rep.wall_s / steps},
                   {"forward_s", rep.forward_s / steps},
                   {"backward_s", rep.backward_s / steps},
                   {"fwd_flops", all.fwd_flops / steps},
                   {"bwd_flops", all.bwd_flops / steps}};
  nlohmann::json cfg = {{"from", req.from},
                        {"model", req.model},
                        {"data", req.data},
                        {"width", req.width},
                        {"stem", req.stem},
                        {"method", req.method},
                        {"layers", req.opt.layers},
                        {"batch", req.opt.batch},
                        {"steps", req.steps},
                        {"warmup", req.warmup},
                        {"forget", req.forget},
                        {"retain", req.retain},
                        {"epochs", req.opt.epochs},
                        {"lr", req.opt.lr},
                        {"options", options},
                        {"repeats", req.repeats},
                        {"short", req.short_run},
                        {"seed", req.opt.seed},
                        {"model_config", mc.to_json()},
                        {"threads_used", omp_get_max_threads()},
                        {"build", build_info()}};
  io::write_json_atomic(req.out + "/config.json", cfg);
  io::write_text_atomic(req.out + "/profile.csv", rep.to_csv());
  io::write_json_atomic(req.out + "/profile.json", j);
  io::write_text_atomic(req.out + "/profile.svg", time_chart(rep, req));

  std::string what = training
                         ? std::to_string(req.steps) + " steps"
                         : std::to_string(run_info["forget_size"].get<size_t>()) + " forget + " +
                               std::to_string(run_info["retain_size"].get<size_t>()) + " retain, " +
                               std::to_string(req.opt.epochs) + " epoch(s)";
  ProfileResult res;
  res.profile = j;
  res.summary = printf_string("profile: %s, method %s, layers %s, batch %lld, %s\n",
                              mc.name.c_str(), req.method.c_str(), req.opt.layers.c_str(),
                              static_cast<long long>(req.opt.batch), what.c_str()) +
                rep.table(req.depth);
  if (!training) {
    res.summary += "phases:";
    for (auto& [k, v] : phases[med].items())
      res.summary += printf_string(" %s %.3f s;", k.c_str(), v.get<double>());
    res.summary += "\n";
  }
  res.summary += printf_string(
      "repeats: %lld, wall median %.3f s (min %.3f, max %.3f; the table is the median repeat)%s\n",
      static_cast<long long>(req.repeats), rep.wall_s, wall_min, wall_max,
      same_flops ? "" : "; FLOPs differ between repeats");
  std::fprintf(stderr, "profile: wrote %s/profile.json and profile.csv in %.1f s\n",
               req.out.c_str(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
  return res;
}

}  // namespace lethe::unlearn
