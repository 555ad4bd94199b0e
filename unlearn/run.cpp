#include "unlearn/run.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <optional>
#include "data/random.h"
#include "data/spec.h"
#include "engine/backend/backend.h"
#include "engine/backend/device_options.h"
#include "engine/backend/system_info.h"
#include "engine/core/stop_signal.h"
#include "engine/io/run_dir.h"
#include "engine/nn/detect_anomaly.h"
#include "eval/group_fairness.h"
#include "eval/predict.h"
#include "models/checkpoint.h"
#include "train/train_run.h"
#include "unlearn/context.h"
#include "unlearn/scope.h"

namespace lethe::unlearn {

nlohmann::json run_unlearning(const UnlearnRequest& req) {
  auto t0 = std::chrono::steady_clock::now();
  StopSignals stop_signals;  // SIGINT/SIGTERM end the method's loops between steps
  if (req.threads > 0) omp_set_num_threads(req.threads);
  LETHE_CHECK(!req.forget.empty(), "--forget: a forget SPEC is required");
  LETHE_CHECK(req.requests >= 1, "--requests must be ≥ 1, got ", req.requests);
  std::unique_ptr<Method> method = make_method(req.method);
  LETHE_CHECK(!req.opt.no_retain || method->supports_no_retain(), "--method ", req.method,
              " cannot run with --no-retain (it needs the retain set)");

  LETHE_CHECK(req.device == "cpu" || req.device == "emu" || req.device == "cuda",
              "--device: unknown '", req.device, "' (use cpu, emu or cuda)");
  const Device device = device_by_name(req.device);  // one line when cuda has no device
  // Host tensors (the batches before upload, small constants) run on the device's backend too.
  BackendGuard backend(req.device);

  OriginalRun orig = load_original_run(req.from);
  // On a device the model stays resident for the whole run, as in training (train/train_run):
  // the methods' batches are uploaded, losses and predictions read back, the checkpoint saved
  // through cpu().
  orig.model->to(device);
  const data::DataSplit& ds = orig.data;
  const nlohmann::json& orig_cfg = orig.config;
  const data::Normalization& norm = orig.norm;
  // The forget set is the original run's rows chosen by --forget, drawn with the original's seed
  // (as lethe eval --forget redraws it), never with the method's --seed: runs of several methods
  // or seeds on one original remove the same rows.
  const uint64_t original_seed = orig_cfg.value("seed", uint64_t{0});
  data::ForgetSplit full = data::make_forget_split(req.forget, ds.train, original_seed);
  LETHE_CHECK(!full.forget.empty(), "--forget ", req.forget, ": selects no training sample");
  LETHE_CHECK(static_cast<int64_t>(full.forget.size()) >= req.requests, "--requests ", req.requests,
              " exceeds the ", full.forget.size(), " samples to forget");
  io::prepare_run_dir(req.out, req.overwrite);

  // Successive requests: a seeded order of the forget set cut into `requests` parts.
  std::vector<int64_t> order = full.forget;
  if (req.requests > 1)
    data::shuffle_with_key(order, data::stream_key(req.opt.seed, data::kUnlearnRequests));
  PhaseTimer timer;
  UnlearnContext ctx = make_context(orig, req.opt, req.out, &timer);
  std::optional<train::EpochCheckpoint> checkpoint;
  if (req.resume) {
    // The methods whose training loops save and restore epoch checkpoints (run_epochs, amun's
    // fine-tune); the others would silently start over.
    static const std::vector<std::string> kResumable = {"ft",   "rl",         "salun",   "bs",
                                                        "amun", "amun-salun", "amnesiac"};
    LETHE_CHECK(std::find(kResumable.begin(), kResumable.end(), req.method) != kResumable.end(),
                "--resume: --method ", req.method,
                " does not checkpoint its epochs (resumable: ft, rl, salun, bs, amun, amun-salun, "
                "amnesiac)");
    LETHE_CHECK(req.requests == 1, "--resume: continues a single request (not --requests ",
                req.requests, ")");
    checkpoint.emplace(req.out + "/resume.safetensors",
                       nlohmann::json{{"from", req.from},
                                      {"method", req.method},
                                      {"forget", req.forget},
                                      {"epochs", req.opt.epochs},
                                      {"lr", req.opt.lr},
                                      {"batch", req.opt.batch},
                                      {"seed", req.opt.seed},
                                      {"no_retain", req.opt.no_retain},
                                      {"layers", req.opt.layers},
                                      {"options", req.opt.extra},
                                      {"device", req.device}});
    ctx.checkpoint = &*checkpoint;
  }
  std::optional<nn::DetectAnomaly> detect_anomaly;
  if (req.detect_anomaly) detect_anomaly.emplace(*ctx.model);
  std::vector<int64_t> forgotten;
  nlohmann::json per_request = nlohmann::json::array();
  for (int64_t r = 0; r < req.requests; ++r) {
    size_t lo = order.size() * r / req.requests, hi = order.size() * (r + 1) / req.requests;
    std::vector<int64_t> part(order.begin() + lo, order.begin() + hi);
    forgotten.insert(forgotten.end(), part.begin(), part.end());
    std::sort(part.begin(), part.end());
    data::ForgetSplit all = data::split_from_forget(forgotten, ds.train.size(), "--forget");
    ctx.split.forget = part;
    ctx.split.retain = req.opt.no_retain ? std::vector<int64_t>{} : all.retain;
    apply_scope(*ctx.model, req.opt.layers);
    std::fprintf(stderr, "unlearn: %s, request %lld/%lld: forgetting %zu samples, scope %s\n",
                 req.method.c_str(), static_cast<long long>(r + 1),
                 static_cast<long long>(req.requests), part.size(), req.opt.layers.c_str());
    auto rt0 = std::chrono::steady_clock::now();
    method->run(ctx);
    per_request.push_back(
        {{"forget", part.size()},
         {"wall_s",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - rt0).count()}});
  }
  clear_scope(*ctx.model);
  detect_anomaly.reset();

  data::ForgetSplit final_split = data::split_from_forget(forgotten, ds.train.size(), "--forget");
  nlohmann::json m;
  {
    auto s = timer.scope("evaluate");
    m["forget_acc"] = eval::accuracy(*ctx.model, ds.train, final_split.forget, norm);
    m["retain_acc"] = eval::accuracy(*ctx.model, ds.train, final_split.retain, norm);
    m["test_acc"] = eval::accuracy(*ctx.model, ds.test, data::all_indices(ds.test), norm);
    nlohmann::json fair = eval::model_fairness(
        *ctx.model, ds, {{"forget", final_split.forget}, {"retain", final_split.retain}}, norm);
    if (!fair.is_null()) m["fairness"] = fair;
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m["wall_s"] = wall;
  m["phases_s"] = timer.to_json();
  double unlearn_s = wall - timer.to_json().value("evaluate", 0.0);
  m["unlearn_s"] = unlearn_s;
  try {
    double orig_s = io::read_json(req.from + "/metrics.json").at("wall_s").get<double>();
    m["original_train_s"] = orig_s;
    m["cost_vs_original"] = orig_s > 0 ? unlearn_s / orig_s : 0.0;
  } catch (const std::exception&) {
    // The original's timing is optional (e.g. a checkpoint imported from PyTorch).
  }
  m["method"] = req.method;
  m["layers"] = req.opt.layers;
  m["no_retain"] = req.opt.no_retain;
  m["requests"] = per_request;
  m["forget_size"] = final_split.forget.size();
  m["device"] = current_backend().name();  // the backend that ran it
  m["device_options"] = to_json(device_options());
  m["threads"] = omp_get_max_threads();
  if (!ctx.report.empty()) m["method_report"] = ctx.report;
  if (!ctx.cache_report.empty()) m["prefix_cache"] = ctx.cache_report;

  nlohmann::json cfg = {{"from", req.from},
                        {"method", req.method},
                        {"forget", req.forget},
                        {"requests", req.requests},
                        {"epochs", req.opt.epochs},
                        {"lr", req.opt.lr},
                        {"batch", req.opt.batch},
                        {"seed", req.opt.seed},
                        {"no_retain", req.opt.no_retain},
                        {"layers", req.opt.layers},
                        {"options", req.opt.extra},
                        {"cache_mb", req.opt.cache_mb},
                        {"data", orig_cfg.at("data")},
                        {"original_seed", orig_cfg.value("seed", 0ull)},
                        {"subset", orig_cfg.value("subset", int64_t{0})},
                        {"model_config", orig.model_config.to_json()},
                        {"normalize", norm.to_json()},
                        {"device", req.device},
                        {"threads_used", omp_get_max_threads()},
                        {"build", build_info()}};
  // unlearn_s ends before the run directory is written; the writing is timed apart (write_s).
  auto w0 = std::chrono::steady_clock::now();
  io::write_json_atomic(req.out + "/config.json", cfg);
  data::write_index_file(req.out + "/forget.txt", final_split.forget);
  models::save_checkpoint(req.out + "/model.safetensors", *ctx.model, orig.model_config,
                          {{"normalize", norm.to_json().dump()}});
  m["write_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  io::write_json_atomic(req.out + "/metrics.json", m);
  if (checkpoint) checkpoint->remove();  // the results are complete
  std::fprintf(stderr, "unlearn: %s forget %.2f%% retain %.2f%% test %.2f%% in %.1f s\n",
               req.method.c_str(), m["forget_acc"].get<double>(), m["retain_acc"].get<double>(),
               m["test_acc"].get<double>(), unlearn_s);
  return m;
}

}  // namespace lethe::unlearn
