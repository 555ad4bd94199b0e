// `lethe train --reference-models M`: M models on balanced random halves of the data pool, and
// their logits on every pool sample. See reference_models.h for the choices.
#include "train/reference_models.h"

#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "data/random.h"
#include "data/spec.h"
#include "engine/backend/device_options.h"
#include "engine/backend/system_info.h"
#include "engine/core/error.h"
#include "engine/core/stop_signal.h"
#include "engine/dist/communicator.h"
#include "engine/io/run_dir.h"
#include "engine/io/safetensors.h"
#include "engine/nn/init.h"
#include "engine/optim/schedule.h"
#include "eval/mia/reference_set.h"
#include "eval/predict.h"
#include "models/checkpoint.h"
#include "models/registry.h"
#include "train/epoch_checkpoint.h"

namespace lethe::train {
namespace fs = std::filesystem;

namespace {

// The recipe fields that decide what the models are (not where they go or how fast).
nlohmann::json recipe(const nlohmann::json& config) {
  nlohmann::json r = config;
  for (const char* k :
       {"out", "threads", "threads_used", "overwrite", "build", "eval_every", "ranks"})
    r.erase(k);
  // Options added after a job may have been written: at their default they are the recipe an
  // older config.json (without the key) describes.
  if (!r.value("sync_bn", false)) r.erase("sync_bn");
  return r;
}

// Drops model k's lines after its first `epochs` epochs from the job's log: the lines an
// interrupted attempt wrote beyond the checkpoint it resumes from are written again.
void keep_model_epochs(const std::string& path, int64_t k, int64_t epochs) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string line, kept;
  bool dropped = false;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("model", int64_t{-1}) == k &&
        j.value("epoch", int64_t{0}) > epochs) {
      dropped = true;
      continue;
    }
    kept += line + "\n";
  }
  if (dropped) io::write_text_atomic(path, kept);
}

}  // namespace

std::vector<uint8_t> balanced_inclusion(int64_t models, int64_t pool, uint64_t seed) {
  LETHE_CHECK(models >= 2,
              "--reference-models must be ≥ 2 (one IN and one OUT model per "
              "sample), got ",
              models);
  std::vector<uint8_t> inc(static_cast<size_t>(models * pool), 0);
  const uint64_t key = data::stream_key(seed, data::kReferenceInclusion);
  for (int64_t p = 0; p < pool; ++p) {
    std::vector<int64_t> perm =
        data::permutation(models, data::stream_key(key, data::kInclusionPerRow, p));
    int64_t k = models / 2;
    if (models % 2 == 1) k += static_cast<int64_t>(data::uniform_below(key, p, 2));
    for (int64_t i = 0; i < k; ++i) inc[perm[i] * pool + p] = 1;
  }
  return inc;
}

uint64_t reference_model_seed(uint64_t seed, int64_t k) {
  return data::stream_key(seed, data::kReferenceModel, static_cast<uint64_t>(k));
}

nlohmann::json run_reference_training(const TrainConfig& cfg, int64_t models) {
  check_config(cfg);
  StopSignals stop_signals;  // SIGINT/SIGTERM stop between steps; rerunning continues
  balanced_inclusion(models, 0, cfg.seed);  // rejects M < 2 before DIR is created
  LETHE_CHECK(cfg.exclude.empty() && cfg.sisa.empty() && !cfg.amnesiac,
              "--reference-models cannot be combined with --exclude, --sisa or --amnesiac");
  // Several ranks (mpirun): model k is rank k mod N's unit, trained alone on that rank (the
  // communicator self(), no gradient averaging), so it is the model one rank would train, bit
  // for bit at equal --threads. Units meet in the run directory (shared by all ranks); rank 0
  // reads every unit's files back and writes the cache and metrics.json.
  const dist::Communicator& world = dist::current();  // world(), unless nested in a unit
  const bool root = world.is_root();
  auto t_start = std::chrono::steady_clock::now();
  if (cfg.threads > 0) omp_set_num_threads(cfg.threads);
  if (root) io::prepare_run_dir(cfg.out, cfg.overwrite, "--out", cfg.resume);
  world.barrier();
  const std::string dir = cfg.out;

  data::DataSplit ds = data::load_training_data(cfg.data, cfg.seed, cfg.subset);
  eval::mia::PoolInfo pool = eval::mia::pool_info(ds, cfg.data, cfg.subset, cfg.seed);
  const int64_t n_train = ds.train.size(), P = pool.size();
  data::Dataset pool_ds = data::concat({ds.train, ds.test});
  std::vector<uint8_t> inclusion = balanced_inclusion(models, P, cfg.seed);

  nlohmann::json overrides = nlohmann::json::object();
  if (cfg.width > 0) overrides["width"] = cfg.width;
  if (!cfg.stem.empty()) overrides["stem"] = cfg.stem;
  const data::Dataset& tr = ds.train;
  int64_t in_ch = tr.is_image() ? tr.channels() : tr.width();
  int64_t img = tr.is_image() ? tr.height() : 1;
  models::ModelConfig mc = models::config_for(cfg.model, in_ch, img, tr.num_classes, overrides);
  data::Normalization norm = data::Normalization::from_dataset(tr);

  nlohmann::json config = cfg.to_json();
  config["model_config"] = mc.to_json();
  config["normalize"] = norm.to_json();
  config["schedule_resolved"] =
      optim::LrSchedule::parse(cfg.schedule, cfg.lr, cfg.epochs, cfg.warmup).describe();
  config["reference_models"] = models;
  config["pool"] = pool.to_json();
  config["model_seeds"] = "reference_model_seed(seed, k) (train/reference_models.h)";
  config["threads_used"] = omp_get_max_threads();
  config["build"] = build_info();
  config["ranks"] = world.size();
  const std::string cfg_path = dir + "/config.json";
  bool resume = fs::exists(cfg_path) && recipe(io::read_json(cfg_path)) == recipe(config);
  world.barrier();  // every rank has decided before rank 0 rewrites config.json
  if (root) {
    if (!resume && !cfg.overwrite)
      LETHE_CHECK(!fs::exists(cfg_path), "--out ", dir,
                  ": holds reference models of another recipe (use --overwrite to replace them)");
    io::write_json_atomic(cfg_path, config);
  }
  const std::string log_path =
      dir + (root ? "/log.jsonl" : "/log.rank-" + std::to_string(world.rank()) + ".jsonl");
  if (!resume && fs::exists(log_path)) fs::remove(log_path);

  eval::mia::ReferenceSet refs;
  refs.pool = pool;
  refs.models = models;
  refs.classes = tr.num_classes;
  refs.inclusion = inclusion;
  refs.labels = pool_ds.labels.to_vector_i64();
  refs.logits.resize(static_cast<size_t>(models * P * refs.classes));
  std::vector<int64_t> all(P);
  for (int64_t p = 0; p < P; ++p) all[p] = p;

  if (root)
    std::fprintf(stderr,
                 "reference models: %lld × %s on halves of a %lld-sample pool (%lld train + %lld "
                 "test), %lld epochs, %d threads\n",
                 static_cast<long long>(models), cfg.model.c_str(), static_cast<long long>(P),
                 static_cast<long long>(n_train), static_cast<long long>(P - n_train),
                 static_cast<long long>(cfg.epochs), omp_get_max_threads());
  // This rank's units: train (or reuse) model k, write ref_K/logits.safetensors and
  // ref_K/unit.json (its wall time, whether it was reused, the rank that ran it).
  const std::string who = world.size() > 1 ? " (rank " + std::to_string(world.rank()) + ")" : "";
  for (int64_t k = world.rank(); k < models; k += world.size()) {
    auto t_k = std::chrono::steady_clock::now();
    const std::string kdir = dir + "/ref_" + std::to_string(k);
    const std::string klogits = kdir + "/logits.safetensors";
    std::vector<int64_t> in_idx;
    for (int64_t p = 0; p < P; ++p)
      if (inclusion[k * P + p]) in_idx.push_back(p);
    bool reused = false;
    if (resume && fs::exists(klogits)) {
      io::SafetensorsFile f = io::read_safetensors(klogits);
      auto it = f.tensors.find("logits");
      if (it != f.tensors.end() && it->second.shape == std::vector<int64_t>({P, refs.classes})) {
        reused = true;
        std::fprintf(stderr, "reference model %lld/%lld%s: reused %s\n",
                     static_cast<long long>(k + 1), static_cast<long long>(models), who.c_str(),
                     klogits.c_str());
      }
    }
    if (!reused) {
      fs::create_directories(kdir);
      TrainConfig ck = cfg;
      ck.seed = reference_model_seed(cfg.seed, k);
      nn::manual_seed(ck.seed);
      std::shared_ptr<models::Classifier> model = models::build_model(mc);
      std::fprintf(stderr, "reference model %lld/%lld%s: %zu samples\n",
                   static_cast<long long>(k + 1), static_cast<long long>(models), who.c_str(),
                   in_idx.size());
      // Model k's epoch checkpoint (always on: the job always continues where it stopped), bound
      // to the recipe and k; written by the rank that owns the unit, removed once its logits are.
      EpochCheckpoint checkpoint(kdir + "/resume.safetensors",
                                 {{"recipe", recipe(config)}, {"reference_model", k}},
                                 cfg.checkpoint_every);
      if (!resume) checkpoint.remove();
      keep_model_epochs(log_path, k, checkpoint.epochs_done("train"));
      fit(
          *model, pool_ds, in_idx, norm, ck,
          [&](int64_t e, const EpochStats& st, profile::Progress& prog) {
            char status[96];
            std::snprintf(status, sizeof status, "loss %.4f train %.2f%%", st.loss, st.acc);
            prog.finish(status);
            io::append_jsonl(log_path, {{"model", k},
                                        {"epoch", e + 1},
                                        {"loss", st.loss},
                                        {"train_acc_running", st.acc},
                                        {"epoch_s", st.seconds}});
          },
          [](EpochOptions& eo) { eo.comm = &dist::Communicator::self(); },  // a unit: one rank
          &checkpoint);
      models::save_checkpoint(kdir + "/model.safetensors", *model, mc,
                              {{"normalize", norm.to_json().dump()}});
      std::vector<float> lg = eval::predict_logits(*model, pool_ds, all, norm).to_vector();
      io::SafetensorsFile f;
      f.tensors["logits"] = io::from_f32({P, refs.classes}, lg.data());
      io::write_safetensors(klogits, f);
      checkpoint.remove();
    }
    io::write_json_atomic(
        kdir + "/unit.json",
        {{"reused", reused},
         {"rank", world.rank()},
         {"wall_s",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t_k).count()}});
  }
  world.barrier();  // every unit is on disk
  if (!root) return {{"rank", world.rank()}, {"ranks", world.size()}};

  nlohmann::json per_model = nlohmann::json::array();
  for (int64_t k = 0; k < models; ++k) {
    const std::string kdir = dir + "/ref_" + std::to_string(k);
    io::SafetensorsFile f = io::read_safetensors(kdir + "/logits.safetensors");
    auto it = f.tensors.find("logits");
    LETHE_CHECK(
        it != f.tensors.end() && it->second.shape == std::vector<int64_t>({P, refs.classes}), kdir,
        "/logits.safetensors: no logits of shape [", P, ", ", refs.classes, "]");
    std::vector<float> lg = io::to_f32(it->second, "logits");
    const nlohmann::json unit = io::read_json(kdir + "/unit.json");
    std::vector<int64_t> in_idx, out_idx;
    for (int64_t p = 0; p < P; ++p) (inclusion[k * P + p] ? in_idx : out_idx).push_back(p);
    std::copy(lg.begin(), lg.end(), refs.logits.begin() + k * P * refs.classes);
    // Accuracy on the model's own half and on the other half: the gap is what the attacks see.
    auto acc = [&](const std::vector<int64_t>& idx) {
      int64_t ok = 0;
      for (int64_t p : idx) {
        const float* row = lg.data() + p * refs.classes;
        ok += std::max_element(row, row + refs.classes) - row == refs.labels[p];
      }
      return idx.empty() ? 0.0 : 100.0 * ok / idx.size();
    };
    per_model.push_back({{"model", k},
                         {"in_size", in_idx.size()},
                         {"in_acc", acc(in_idx)},
                         {"out_acc", acc(out_idx)},
                         {"reused", unit.at("reused")},
                         {"rank", unit.at("rank")},
                         {"wall_s", unit.at("wall_s")}});
    std::fprintf(stderr, "reference model %lld/%lld: IN acc %.2f%%, OUT acc %.2f%%\n",
                 static_cast<long long>(k + 1), static_cast<long long>(models),
                 per_model.back()["in_acc"].get<double>(),
                 per_model.back()["out_acc"].get<double>());
  }
  eval::mia::write_reference_cache(dir, refs);

  nlohmann::json metrics;
  metrics["reference_models"] = per_model;
  metrics["pool_size"] = P;
  metrics["wall_s"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  metrics["device"] = cfg.device;
  metrics["device_options"] = to_json(device_options());
  metrics["threads"] = omp_get_max_threads();
  metrics["ranks"] = world.size();
  io::write_json_atomic(dir + "/metrics.json", metrics);
  std::fprintf(stderr, "reference models: done in %.0f s; %s\n", metrics["wall_s"].get<double>(),
               dir.c_str());
  return metrics;
}

}  // namespace lethe::train
