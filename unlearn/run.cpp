#include "unlearn/run.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include <optional>
#include "data/random.h"
#include "data/spec.h"
#include "engine/backend/backend.h"
#include "engine/backend/device_options.h"
#include "engine/backend/system_info.h"
#include "engine/core/stop_signal.h"
#include "engine/dist/communicator.h"
#include "engine/io/run_dir.h"
#include "engine/nn/detect_anomaly.h"
#include "engine/profile/flop_counter.h"
#include "eval/group_fairness.h"
#include "eval/predict.h"
#include "models/checkpoint.h"
#include "train/memory_estimate.h"
#include "train/train_run.h"
#include "unlearn/context.h"
#include "unlearn/scope.h"

namespace lethe::unlearn {

nlohmann::json unlearn_identity(const std::string& from, const std::string& method,
                                const std::string& forget, const UnlearnOptions& opt) {
  return {{"from", from},         {"method", method},
          {"forget", forget},     {"epochs", opt.epochs},
          {"lr", opt.lr},         {"batch", opt.batch},
          {"seed", opt.seed},     {"no_retain", opt.no_retain},
          {"layers", opt.layers}, {"options", opt.extra}};
}

nlohmann::json run_unlearning(const UnlearnRequest& req) {
  auto t0 = std::chrono::steady_clock::now();
  StopSignals stop_signals;  // SIGINT/SIGTERM end the method's loops between steps
  if (req.threads > 0) omp_set_num_threads(req.threads);
  LETHE_CHECK(!req.forget.empty(), "--forget: a forget SPEC is required");
  LETHE_CHECK(req.requests >= 1, "--requests must be ≥ 1, got ", req.requests);
  std::unique_ptr<Method> method = make_method(req.method);
  LETHE_CHECK(!req.opt.no_retain || method->supports_no_retain(), "--method ", req.method,
              " cannot run with --no-retain (it needs the retain set)");

  // One line for an unknown name, or cuda without a device.
  const Device device = device_by_name(req.device);
  // Host tensors (the batches before upload, small constants) run on the device's backend too.
  BackendGuard backend(req.device);

  const size_t max_memory = req.max_memory.empty() ? 0 : train::parse_memory_size(req.max_memory);
  OriginalRun orig = load_original_run(req.from);
  // A training step of the method's --batch (momentum SGD, as the methods' optimizers), before
  // anything of that size is allocated. Methods that hold a second model (SCRUB, BS) need more.
  if (device.is_cpu())
    train::check_step_memory(
        train::estimate_step_memory(orig.model_config, orig.data.train,
                                    std::min(req.opt.batch, orig.data.train.size()), 1),
        max_memory, "unlearn " + req.method);
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
  // Several ranks (mpirun): the shared epoch loop runs data-parallel (unlearn/common.cpp), sisa
  // spreads its shards, the rest of a method is replicated; rank 0 alone evaluates and writes
  // the run directory.
  const dist::Communicator& comm = dist::current();  // self() inside a unit of work
  const bool root = comm.is_root();
  LETHE_CHECK(comm.size() == 1 || (req.method != "newton" && req.method != "fair-newton"),
              "--method ", req.method, " runs on one rank (started with ", comm.size(), " ranks)");
  if (root) io::prepare_run_dir(req.out, req.overwrite, "--out", req.resume);
  comm.barrier();

  // Successive requests: a seeded order of the forget set cut into `requests` parts.
  std::vector<int64_t> order = full.forget;
  if (req.requests > 1)
    data::shuffle_with_key(order, data::stream_key(req.opt.seed, data::kUnlearnRequests));
  PhaseTimer timer;
  UnlearnContext ctx = make_context(orig, req.opt, req.out, &timer);
  std::optional<train::EpochCheckpoint> checkpoint;
  LETHE_CHECK(req.checkpoint_every >= 0, "--checkpoint-every must be ≥ 0, got ",
              req.checkpoint_every);
  LETHE_CHECK(req.checkpoint_every == 0 || req.resume,
              "--checkpoint-every needs --resume (the checkpoint is what --resume continues from)");
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
    LETHE_CHECK(comm.size() == 1, "--resume: a single process only (", comm.size(),
                " ranks would write one checkpoint file together)");
    nlohmann::json identity = unlearn_identity(req.from, req.method, req.forget, req.opt);
    identity["device"] = req.device;
    checkpoint.emplace(req.out + "/resume.safetensors", identity, req.checkpoint_every);
    ctx.checkpoint = &*checkpoint;
  }
  std::optional<nn::DetectAnomaly> detect_anomaly;
  if (req.detect_anomaly) detect_anomaly.emplace(*ctx.model);
  std::vector<int64_t> forgotten;
  nlohmann::json per_request = nlohmann::json::array();
  // FLOPs and peak tensor memory of the unlearning itself (the evaluation below is not counted).
  profile::FlopCounter flops;
  for (int64_t r = 0; r < req.requests; ++r) {
    size_t lo = order.size() * r / req.requests, hi = order.size() * (r + 1) / req.requests;
    std::vector<int64_t> part(order.begin() + lo, order.begin() + hi);
    forgotten.insert(forgotten.end(), part.begin(), part.end());
    std::sort(part.begin(), part.end());
    data::ForgetSplit all = data::split_from_forget(forgotten, ds.train.size(), "--forget");
    ctx.split.forget = part;
    ctx.split.retain = req.opt.no_retain ? std::vector<int64_t>{} : all.retain;
    apply_scope(*ctx.model, req.opt.layers);
    if (root)
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
  flops.stop();
  detect_anomaly.reset();
  if (!root) return {{"rank", comm.rank()}, {"ranks", comm.size()}};

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
  m["flops"] = {{"forward", flops.forward_flops()},
                {"backward", flops.backward_flops()},
                {"total", flops.forward_flops() + flops.backward_flops()}};
  // Host tensor memory (engine/core/allocator); device memory is not in it.
  m["peak_tensor_bytes"] = flops.peak_bytes();
  m["start_tensor_bytes"] = flops.start_bytes();
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
  m["ranks"] = comm.size();
  if (!ctx.report.empty()) m["method_report"] = ctx.report;
  if (!ctx.cache_report.empty()) m["prefix_cache"] = ctx.cache_report;

  nlohmann::json cfg = unlearn_identity(req.from, req.method, req.forget, req.opt);
  cfg.update(nlohmann::json{{"requests", req.requests},
                            {"cache_mb", req.opt.cache_mb},
                            {"data", orig_cfg.at("data")},
                            {"original_seed", orig_cfg.value("seed", 0ull)},
                            {"subset", orig_cfg.value("subset", int64_t{0})},
                            {"model_config", orig.model_config.to_json()},
                            {"normalize", norm.to_json()},
                            {"device", req.device},
                            {"threads_used", omp_get_max_threads()},
                            {"build", build_info()}});
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

std::string seed_dir(const std::string& out, uint64_t seed) {
  return out + "/seed-" + std::to_string(seed);
}

nlohmann::json run_unlearning_seeds(const UnlearnRequest& req, int64_t seeds) {
  LETHE_CHECK(seeds >= 1, "--seeds must be ≥ 1, got ", seeds);
  LETHE_CHECK(!req.out.empty(), "--out: an output directory is required");
  namespace fs = std::filesystem;
  LETHE_CHECK(!fs::exists(req.out + "/metrics.json"), "--out '", req.out,
              "' holds a single run; a seeds group needs a directory of its own");
  std::vector<uint64_t> list;
  for (int64_t i = 0; i < seeds; ++i) list.push_back(req.opt.seed + static_cast<uint64_t>(i));
  // Several ranks (mpirun): seed i is rank i mod N's unit, run alone on that rank (UnitScope),
  // bit-identical to the one-rank run of that seed; rank 0 reads every run back.
  const dist::Communicator& world = dist::current();
  if (world.is_root())
    for (uint64_t s : list) io::prepare_run_dir(seed_dir(req.out, s), req.overwrite, "--out");
  world.barrier();
  for (size_t i = static_cast<size_t>(world.rank()); i < list.size(); i += world.size()) {
    std::optional<dist::UnitScope> unit;
    if (world.size() > 1) unit.emplace();
    UnlearnRequest u = req;
    u.out = seed_dir(req.out, list[i]);
    u.opt.seed = list[i];
    u.overwrite = true;  // checked above for all seeds at once
    std::fprintf(stderr, "unlearn: %sseed %llu (%zu of %zu)\n", dist::rank_prefix().c_str(),
                 static_cast<unsigned long long>(list[i]), i + 1, list.size());
    run_unlearning(u);
  }
  world.barrier();  // every seed's run directory is complete
  if (!world.is_root()) return {{"rank", world.rank()}, {"ranks", world.size()}};
  nlohmann::json runs = nlohmann::json::array();
  std::map<std::string, std::vector<double>> cols;
  for (uint64_t s : list) {
    const std::string dir = seed_dir(req.out, s);
    nlohmann::json m = io::read_json(dir + "/metrics.json");
    runs.push_back({{"seed", s}, {"dir", dir}});
    for (const char* k : {"forget_acc", "retain_acc", "test_acc", "unlearn_s"}) {
      LETHE_CHECK(m.contains(k) && m[k].is_number(), dir, "/metrics.json: no number '", k, "'");
      cols[k].push_back(m[k].get<double>());
    }
  }
  nlohmann::json summary = nlohmann::json::object();
  for (const auto& [k, v] : cols) {
    double mean = 0, q = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    for (double x : v) q += (x - mean) * (x - mean);
    summary[k] = {{"mean", mean},
                  {"sd", v.size() > 1 ? std::sqrt(q / static_cast<double>(v.size() - 1)) : 0.0}};
  }
  nlohmann::json out = {{"method", req.method}, {"from", req.from}, {"forget", req.forget},
                        {"seeds", list},        {"runs", runs},     {"summary", summary}};
  io::write_json_atomic(req.out + "/seeds.json", out);
  return out;
}

}  // namespace lethe::unlearn
