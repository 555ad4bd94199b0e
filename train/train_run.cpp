#include "train/train_run.h"

#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "data/forget.h"
#include "data/random.h"
#include "data/spec.h"
#include "engine/backend/backend.h"
#include "engine/backend/device_options.h"
#include "engine/backend/system_info.h"
#include "engine/core/allocator.h"
#include "engine/core/build_info.h"
#include "engine/core/stop_signal.h"
#include "engine/dist/communicator.h"
#include "engine/io/run_dir.h"
#include "engine/nn/detect_anomaly.h"
#include "engine/nn/init.h"
#include "engine/optim/schedule.h"
#include "eval/group_fairness.h"
#include "eval/predict.h"
#include "eval/robust/attack_spec.h"
#include "kernels/cpu/gemm.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "train/adversarial.h"
#include "train/amnesiac.h"
#include "train/linear_head.h"
#include "train/memory_estimate.h"
#include "train/sisa_train.h"
#include "train/trainer.h"

namespace lethe::train {

nlohmann::json TrainConfig::to_json() const {
  return {{"model", model},
          {"width", width},
          {"stem", stem},
          {"data", data},
          {"out", out},
          {"epochs", epochs},
          {"batch", batch},
          {"lr", lr},
          {"optimizer", optimizer},
          {"momentum", momentum},
          {"schedule", schedule},
          {"warmup", warmup},
          {"wd", wd},
          {"augment", augment},
          {"label_smoothing", label_smoothing},
          {"sync_bn", sync_bn},
          {"seed", seed},
          {"threads", threads},
          {"device", device},
          {"exclude", exclude},
          {"subset", subset},
          {"eval_every", eval_every},
          {"sisa", sisa},
          {"amnesiac", amnesiac},
          {"amnesiac_track", amnesiac_track},
          {"adv_train", adv_train},
          {"solver", solver},
          {"fair", fair},
          {"perturb", perturb},
          {"head_from", head_from}};
}

namespace {
TrainConfig train_config_fields(const nlohmann::json& j);
}  // namespace

TrainConfig train_config_from_json(const nlohmann::json& j) {
  LETHE_CHECK(j.is_object(), "config.json: expected a JSON object");
  try {
    return train_config_fields(j);
  } catch (const nlohmann::json::exception& e) {
    LETHE_FAIL("config.json: an option has the wrong type (", e.what(), ")");
  }
}

namespace {
// The fields of config.json, read with their types (nlohmann throws on a wrong one).
TrainConfig train_config_fields(const nlohmann::json& j) {
  TrainConfig c;
  c.model = j.value("model", c.model);
  c.width = j.value("width", c.width);
  c.stem = j.value("stem", c.stem);
  c.data = j.value("data", c.data);
  c.epochs = j.value("epochs", c.epochs);
  c.batch = j.value("batch", c.batch);
  c.lr = j.value("lr", c.lr);
  c.optimizer = j.value("optimizer", c.optimizer);
  c.momentum = j.value("momentum", c.momentum);
  c.schedule = j.value("schedule", c.schedule);
  c.warmup = j.value("warmup", c.warmup);
  c.wd = j.value("wd", c.wd);
  c.augment = j.value("augment", c.augment);
  c.label_smoothing = j.value("label_smoothing", c.label_smoothing);
  c.sync_bn = j.value("sync_bn", c.sync_bn);
  c.seed = j.value("seed", c.seed);
  c.exclude = j.value("exclude", c.exclude);
  c.subset = j.value("subset", c.subset);
  c.sisa = j.value("sisa", c.sisa);
  c.amnesiac = j.value("amnesiac", c.amnesiac);
  c.amnesiac_track = j.value("amnesiac_track", c.amnesiac_track);
  c.adv_train = j.value("adv_train", c.adv_train);
  c.solver = j.value("solver", c.solver);
  c.fair = j.value("fair", c.fair);
  c.perturb = j.value("perturb", c.perturb);
  c.head_from = j.value("head_from", c.head_from);
  return c;
}
}  // namespace

void check_config(const TrainConfig& c) {
  if (!c.max_memory.empty()) parse_memory_size(c.max_memory);
  LETHE_CHECK(c.checkpoint_every >= 0, "--checkpoint-every must be ≥ 0, got ", c.checkpoint_every);
  (void)device_by_name(c.device);  // one line for an unknown name, or cuda without a device
  LETHE_CHECK(c.epochs >= 0, "--epochs must be ≥ 0, got ", c.epochs);
  LETHE_CHECK(c.batch >= 1, "--batch must be ≥ 1, got ", c.batch);
  LETHE_CHECK(c.lr > 0, "--lr must be > 0, got ", c.lr);
  LETHE_CHECK(c.wd >= 0, "--wd must be ≥ 0, got ", c.wd);
  LETHE_CHECK(c.subset >= 0, "--subset must be ≥ 0, got ", c.subset);
  LETHE_CHECK(c.optimizer == "sgd" || c.optimizer == "adamw", "--optimizer: unknown '", c.optimizer,
              "' (use sgd or adamw)");
  LETHE_CHECK(c.eval_every >= 0, "--eval-every must be ≥ 0, got ", c.eval_every);
  LETHE_CHECK(c.threads >= 0, "--threads must be ≥ 0, got ", c.threads);
  if (!c.adv_train.empty()) (void)eval::parse_attack_spec(c.adv_train, "--adv-train");
  LETHE_CHECK(c.solver == "sgd" || c.solver == "newton", "--solver: unknown '", c.solver,
              "' (use sgd or newton)");
  (void)parse_fair_spec(c.fair, "--fair");
  LETHE_CHECK(c.perturb >= 0, "--perturb must be ≥ 0, got ", c.perturb);
  if (c.solver == "newton") {
    LETHE_CHECK(c.model == "logreg" || !c.head_from.empty(),
                "--solver newton (implied by --fair/--perturb) trains --model logreg, or the head "
                "of a trained network given by --head-from DIR; got --model ",
                c.model);
    LETHE_CHECK(c.wd > 0, "--wd is the L2 coefficient λ of --solver newton and must be > 0");
    LETHE_CHECK(c.sisa.empty() && !c.amnesiac && c.adv_train.empty() && c.device == "cpu",
                "--solver newton runs on the cpu alone, without --sisa/--amnesiac/--adv-train");
  }
}

namespace {

// Keeps the first `epochs` lines of a log (none: removes it), rewritten atomically.
void keep_log_epochs(const std::string& path, int64_t epochs) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) return;
  if (epochs <= 0) {
    fs::remove(path);
    return;
  }
  std::ifstream in(path);
  std::string line, kept;
  for (int64_t i = 0; i < epochs && std::getline(in, line); ++i) kept += line + "\n";
  io::write_text_atomic(path, kept);
}

std::unique_ptr<optim::Optimizer> make_optimizer(const TrainConfig& c, std::vector<Tensor> ps) {
  if (c.optimizer == "adamw") {
    optim::AdamOptions o;
    o.lr = c.lr;
    o.weight_decay = c.wd;
    return std::make_unique<optim::AdamW>(std::move(ps), o);
  }
  optim::SgdOptions o;
  o.lr = c.lr;
  o.momentum = c.momentum;
  o.weight_decay = c.wd;
  return std::make_unique<optim::SGD>(std::move(ps), o);
}

}  // namespace

void fit(models::Classifier& model, const data::Dataset& train, const std::vector<int64_t>& indices,
         const data::Normalization& norm, const TrainConfig& cfg,
         const std::function<void(int64_t, const EpochStats&, profile::Progress&)>& on_epoch,
         const std::function<void(EpochOptions&)>& configure, const EpochCheckpoint* checkpoint) {
  std::vector<Tensor> params;
  for (auto& [n, p] : model.named_parameters())
    if (p.requires_grad()) params.push_back(p);
  std::unique_ptr<optim::Optimizer> opt = make_optimizer(cfg, params);
  optim::LrSchedule sched = optim::LrSchedule::parse(cfg.schedule, cfg.lr, cfg.epochs, cfg.warmup);
  EpochOptions eo;
  eo.batch = cfg.batch;
  eo.augment = parse_augment(cfg.augment, train);
  eo.seed = cfg.seed;
  eo.label_smoothing = cfg.label_smoothing;
  eo.sync_bn = cfg.sync_bn;
  eo.comm = &dist::current();  // data-parallel under mpirun; units pass self()
  if (!cfg.adv_train.empty())
    eo.perturb = make_adversarial_perturb(model, norm, cfg.adv_train, train.is_image(), cfg.seed);
  if (configure) configure(eo);
  const int64_t start = checkpoint ? checkpoint->restore("train", model, *opt) : 0;
  if (start > 0)
    std::fprintf(stderr, "train: resuming after epoch %lld (%s)\n", static_cast<long long>(start),
                 checkpoint->path().c_str());
  for (int64_t e = start; e < cfg.epochs; ++e) {
    opt->set_lr(sched.lr_at(e));
    profile::Progress prog("epoch " + std::to_string(e + 1) + "/" + std::to_string(cfg.epochs),
                           static_cast<int64_t>(indices.size()));
    if (checkpoint) checkpoint->hook_epoch(eo, "train", e, e == start, model, *opt);
    EpochStats st = train_epoch(model, *opt, train, indices, norm, eo, e, &prog);
    if (on_epoch) on_epoch(e, st, prog);
    if (checkpoint) checkpoint->save("train", e + 1, model, *opt);
  }
}

nlohmann::json run_training(const TrainConfig& cfg) {
  check_config(cfg);
  StopSignals stop_signals;  // SIGINT/SIGTERM end the epoch loop between steps
  // emu runs every op through the CUDA kernels on the SIMT emulator (slow: for checking, not work).
  BackendGuard backend(cfg.device);
  if (!cfg.sisa.empty()) parse_sisa_spec(cfg.sisa);
  LETHE_CHECK(cfg.sisa.empty() || !cfg.amnesiac, "--sisa and --amnesiac cannot be combined");
  LETHE_CHECK(cfg.amnesiac_track.empty() || cfg.amnesiac, "--amnesiac-track needs --amnesiac");
  // Several ranks (mpirun): data-parallel epochs; rank 0 alone writes the run directory.
  const dist::Communicator& comm = dist::current();  // self() inside a unit of work
  const bool root = comm.is_root();
  LETHE_CHECK(comm.size() == 1 || (!cfg.amnesiac && cfg.solver == "sgd"),
              "--amnesiac and --solver newton run on one rank (started with ", comm.size(),
              " ranks)");
  auto t_start = std::chrono::steady_clock::now();
  if (cfg.threads > 0) omp_set_num_threads(cfg.threads);
  if (root) io::prepare_run_dir(cfg.out, cfg.overwrite, "--out", cfg.resume);
  comm.barrier();  // the directory exists before any rank writes its log there
  namespace fs = std::filesystem;
  const std::string dir = cfg.out;

  data::DataSplit ds = data::load_training_data(cfg.data, cfg.seed, cfg.subset);
  const data::Dataset& train = ds.train;
  std::vector<int64_t> train_idx = data::all_indices(train);
  data::ForgetSplit fs_split;
  if (!cfg.exclude.empty()) {
    fs_split = data::make_forget_split(cfg.exclude, train, cfg.seed);
    train_idx = fs_split.retain;
  }

  nlohmann::json overrides = nlohmann::json::object();
  if (cfg.width > 0) overrides["width"] = cfg.width;
  if (!cfg.stem.empty()) overrides["stem"] = cfg.stem;
  int64_t in_ch = train.is_image() ? train.channels() : train.width();
  int64_t img = train.is_image() ? train.height() : 1;
  models::ModelConfig mc = models::config_for(cfg.model, in_ch, img, train.num_classes, overrides);
  nn::manual_seed(cfg.seed);
  std::shared_ptr<models::Classifier> model;
  std::optional<data::Normalization> head_norm;  // the frozen network's own input normalization
  if (!cfg.head_from.empty()) {
    // The network of a trained run, frozen; only its head is solved below.
    models::Checkpoint ck = models::load_checkpoint(cfg.head_from + "/model.safetensors");
    LETHE_CHECK(ck.config.num_classes == train.num_classes, "--head-from ", cfg.head_from,
                ": its model has ", ck.config.num_classes, " classes, the data ",
                train.num_classes);
    LETHE_CHECK(ck.config.name == cfg.model, "--head-from ", cfg.head_from, " holds a ",
                ck.config.name, ", not --model ", cfg.model);
    model = ck.model;
    mc = ck.config;
    head_norm =
        data::Normalization::from_run(ck.metadata, io::read_json(cfg.head_from + "/config.json"));
  } else {
    model = models::build_model(mc);
  }
  // Before anything of the batch's size is allocated: refuse a batch that cannot fit, naming
  // the estimate. (Host memory only; the Newton solver's memory is the Hessian's, not a step's.)
  if (cfg.device == "cpu" && cfg.solver == "sgd")
    check_step_memory(
        estimate_step_memory(mc, train,
                             (std::min(cfg.batch, train.size()) + comm.size() - 1) / comm.size(),
                             cfg.optimizer == "adamw" ? 2 : (cfg.momentum > 0 ? 1 : 0)),
        cfg.max_memory.empty() ? 0 : parse_memory_size(cfg.max_memory), "train");
  // On a device the model stays resident for the whole run: parameters, gradients, optimizer
  // state and activations live in device memory; the batches are uploaded, the loss and the
  // logits read back, the checkpoint saved through cpu(). (SISA's shard models stay on the host
  // and run staged.)
  if (cfg.device != "cpu") model->to(device_by_name(cfg.device));
  data::Normalization norm = head_norm ? *head_norm : data::Normalization::from_dataset(train);
  std::unique_ptr<AmnesiacRecorder> amnesiac;
  if (cfg.amnesiac) amnesiac = make_amnesiac_recorder(dir, *model, train, train_idx, cfg);

  nlohmann::json config = cfg.to_json();
  config["model_config"] = mc.to_json();
  config["normalize"] = norm.to_json();
  config["schedule_resolved"] =
      optim::LrSchedule::parse(cfg.schedule, cfg.lr, cfg.epochs, cfg.warmup).describe();
  config["threads_used"] = omp_get_max_threads();
  config["build"] = build_info();
  config["train_size"] = train_idx.size();
  config["test_size"] = ds.test.size();
  config["ranks"] = comm.size();
  if (root) {
    io::write_json_atomic(dir + "/config.json", config);
    if (!cfg.exclude.empty()) data::write_index_file(dir + "/forget.txt", fs_split.forget);
  }
  std::string log_path =
      dir + (root ? "/log.jsonl" : "/log.rank-" + std::to_string(comm.rank()) + ".jsonl");
  // --resume: the epoch checkpoint (model, optimizer, epochs done) and the log lines of those
  // epochs are kept; the options that change the result must be the ones it was written with.
  std::optional<EpochCheckpoint> checkpoint;
  LETHE_CHECK(cfg.checkpoint_every == 0 || cfg.resume,
              "--checkpoint-every needs --resume (the checkpoint is what --resume continues from)");
  // --sisa resumes by slice checkpoints (train/sisa_train.cpp), on any count of ranks.
  if (cfg.resume && cfg.sisa.empty()) {
    LETHE_CHECK(!cfg.amnesiac && cfg.solver == "sgd",
                "--resume: continues the epoch loop of plain or --sisa training (not --amnesiac "
                "or --solver newton)");
    LETHE_CHECK(comm.size() == 1, "--resume: a single process only (", comm.size(),
                " ranks would write one checkpoint file together)");
    nlohmann::json identity = cfg.to_json();
    for (const char* k : {"out", "threads", "eval_every"}) identity.erase(k);
    checkpoint.emplace(dir + "/resume.safetensors", identity, cfg.checkpoint_every);
  }
  if (cfg.sisa.empty())
    keep_log_epochs(log_path, checkpoint ? checkpoint->epochs_done("train") : 0);

  if (root)
    std::fprintf(stderr, "train: %s on %s, %zu samples, %lld epochs, %d threads\n",
                 cfg.model.c_str(), cfg.data.c_str(), train_idx.size(),
                 static_cast<long long>(cfg.epochs), omp_get_max_threads());
  Allocator::instance().reset_peak();
  std::vector<int64_t> test_idx = data::all_indices(ds.test);
  auto log_epoch = [&](int64_t e, const EpochStats& st, profile::Progress& prog) {
    bool eval_now = root && cfg.eval_every > 0 && (e + 1) % cfg.eval_every == 0;
    double test_acc = eval_now ? eval::accuracy(*model, ds.test, test_idx, norm) : -1;
    char status[128];
    std::snprintf(status, sizeof status, "loss %.4f train %.2f%%", st.loss, st.acc);
    std::string line = status;
    if (eval_now) {
      std::snprintf(status, sizeof status, " test %.2f%%", test_acc);
      line += status;
    }
    prog.finish(line);
    nlohmann::json rec = {{"epoch", e + 1},
                          {"loss", st.loss},
                          {"train_acc_running", st.acc},
                          {"epoch_s", st.seconds},
                          {"samples_per_s", st.samples_per_s}};
    if (comm.size() > 1) rec["rows"] = st.rows;  // this rank's share of the epoch
    if (eval_now) rec["test_acc"] = test_acc;
    io::append_jsonl(log_path, rec);
  };
  // metrics.json reports `eval_model`: the model itself, or for SISA the shards' ensemble
  // (model.safetensors then holds shard 0, see train/sisa_train.h).
  std::shared_ptr<models::Classifier> eval_model = model;
  nlohmann::json method_metrics = nlohmann::json::object();
  if (!cfg.sisa.empty()) {
    SisaTrainResult r = train_sisa(dir, train, train_idx, norm, mc, cfg, ds.test);
    if (!root) return {{"rank", comm.rank()}, {"ranks", comm.size()}};  // its shards are on disk
    model = r.models[0];
    eval_model = std::make_shared<SisaEnsemble>(r.models, SisaEnsemble::Aggregate::Vote);
    method_metrics = {{"sisa", r.report}};
  } else if (cfg.solver == "newton") {
    HeadObjective obj;
    obj.l2 = cfg.wd;
    obj.fair = parse_fair_spec(cfg.fair);
    const int64_t p = model->num_features() + 1;
    if (cfg.perturb > 0)
      obj.perturb =
          perturbation(cfg.perturb, cfg.seed, train.num_classes == 2 ? p : train.num_classes * p);
    obj.perturb_sigma = cfg.perturb;
    method_metrics = {{"convex", fit_linear_head(*model, train, train_idx, norm, obj, dir)}};
    std::fprintf(stderr, "train: newton %lld iterations, ||grad|| %.3g\n",
                 static_cast<long long>(method_metrics["convex"]["iterations"].get<int64_t>()),
                 method_metrics["convex"]["grad_norm"].get<double>());
  } else {
    std::optional<nn::DetectAnomaly> detect_anomaly;
    if (cfg.detect_anomaly) detect_anomaly.emplace(*model);
    fit(*model, train, train_idx, norm, cfg, log_epoch,
        amnesiac
            ? std::function<void(EpochOptions&)>([&](EpochOptions& eo) { amnesiac->install(eo); })
            : nullptr,
        checkpoint ? &*checkpoint : nullptr);
    if (amnesiac) method_metrics = {{"amnesiac", amnesiac->finish()}};
  }
  if (!root) return {{"rank", comm.rank()}, {"ranks", comm.size()}};

  nlohmann::json metrics;
  metrics["test_acc"] = eval::accuracy(*eval_model, ds.test, test_idx, norm);
  if (!cfg.exclude.empty()) {
    metrics["forget_acc"] = eval::accuracy(*eval_model, train, fs_split.forget, norm);
    metrics["retain_acc"] = eval::accuracy(*eval_model, train, fs_split.retain, norm);
  } else {
    metrics["train_acc"] = eval::accuracy(*eval_model, train, train_idx, norm);
  }
  {
    std::vector<std::pair<std::string, std::vector<int64_t>>> rows{{"train", train_idx}};
    if (!cfg.exclude.empty()) rows = {{"forget", fs_split.forget}, {"retain", fs_split.retain}};
    nlohmann::json fair = eval::model_fairness(*eval_model, ds, rows, norm);
    if (!fair.is_null()) metrics["fairness"] = fair;
  }
  metrics.update(method_metrics);
  metrics["wall_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  metrics["device"] = cfg.device;
  metrics["device_options"] = to_json(device_options());
  metrics["threads"] = omp_get_max_threads();
  metrics["ranks"] = comm.size();
  metrics["peak_bytes"] = Allocator::instance().stats().peak_bytes;
  metrics["epochs"] = cfg.epochs;

  models::save_checkpoint(dir + "/model.safetensors", *model, mc,
                          {{"normalize", norm.to_json().dump()}});
  io::write_json_atomic(dir + "/metrics.json", metrics);
  if (checkpoint) checkpoint->remove();  // the results are complete
  std::fprintf(stderr, "train: test accuracy %.2f%% after %lld epochs, %.0f s; run directory %s\n",
               metrics["test_acc"].get<double>(), static_cast<long long>(cfg.epochs),
               metrics["wall_s"].get<double>(), dir.c_str());
  return metrics;
}

}  // namespace lethe::train
