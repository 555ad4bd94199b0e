// SISA training (Bourtoule et al., S&P 2021): shards × cumulative slices with a checkpoint after
// every slice, so unlearning retrains one shard from the last checkpoint that never saw the
// deleted point. See sisa_train.h for the run-directory layout and the choices made.
#include "train/sisa_train.h"

#include "engine/core/parse.h"
#include "engine/io/json_checked.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "data/random.h"
#include "engine/core/error.h"
#include "engine/dist/communicator.h"
#include "engine/io/run_dir.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"
#include "eval/predict.h"
#include "models/checkpoint.h"

namespace lethe::train {
namespace fs = std::filesystem;

namespace {

int64_t parse_count(const std::string& s, const std::string& spec) {
  int64_t v = 0;
  LETHE_CHECK(parse_int64(s, v) && v >= 1, "--sisa ", spec,
              ": expected S:R with positive integers (shards:slices), e.g. 4:2");
  return v;
}

}  // namespace

SisaSpec parse_sisa_spec(const std::string& spec) {
  size_t colon = spec.find(':');
  LETHE_CHECK(colon != std::string::npos, "--sisa ", spec,
              ": expected S:R with positive integers (shards:slices), e.g. 4:2");
  SisaSpec s;
  s.shards = parse_count(spec.substr(0, colon), spec);
  s.slices = parse_count(spec.substr(colon + 1), spec);
  return s;
}

int64_t sisa_epochs_per_slice(int64_t epochs, int64_t slices) {
  if (epochs <= 0) return 0;
  return std::max<int64_t>(1, (2 * epochs + slices) / (slices + 1));  // ceil(2e / (R+1))
}

std::string indices_hash(const std::vector<int64_t>& sorted) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (int64_t v : sorted) {
    uint64_t u = static_cast<uint64_t>(v);
    for (int b = 0; b < 8; ++b) {
      h ^= (u >> (8 * b)) & 0xff;
      h *= 0x100000001b3ULL;
    }
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::vector<int64_t> SisaManifest::seen(int64_t s, int64_t r) const {
  std::vector<int64_t> out;
  for (int64_t k = 0; k <= r; ++k) {
    const auto& ix = shards.at(s).slices.at(k).indices;
    out.insert(out.end(), ix.begin(), ix.end());
  }
  std::sort(out.begin(), out.end());
  return out;
}

int64_t SisaManifest::work(int64_t s, int64_t from_slice) const {
  int64_t w = 0;
  for (int64_t r = from_slice; r < num_slices(); ++r)
    w += static_cast<int64_t>(seen(s, r).size()) * epochs_per_slice;
  return w;
}

int64_t SisaManifest::total_work() const {
  int64_t w = 0;
  for (int64_t s = 0; s < num_shards(); ++s) w += work(s);
  return w;
}

nlohmann::json SisaManifest::to_json() const {
  nlohmann::json js = nlohmann::json::array();
  for (const SisaShard& sh : shards) {
    nlohmann::json sl = nlohmann::json::array();
    for (const SisaSlice& x : sh.slices)
      sl.push_back({{"indices", x.indices}, {"hash", x.hash}, {"checkpoint", x.checkpoint}});
    js.push_back({{"init", sh.init}, {"slices", sl}});
  }
  return {{"format", "lethe-sisa"},
          {"version", 1},
          {"shards", num_shards()},
          {"slices", num_slices()},
          {"epochs_per_slice", epochs_per_slice},
          {"seed", seed},
          {"train_size", train_size},
          {"shard", js}};
}

SisaManifest SisaManifest::from_json(const nlohmann::json& j, const std::string& where) {
  SisaManifest m;
  try {
    LETHE_CHECK(j.value("format", std::string()) == "lethe-sisa", "not a SISA manifest");
    m.epochs_per_slice = io::json_int(j.at("epochs_per_slice"), "epochs_per_slice");
    const nlohmann::json& seed = j.at("seed");
    LETHE_CHECK(seed.is_number_integer() && (seed.is_number_unsigned() || seed.get<int64_t>() >= 0),
                "seed: expected a non-negative integer, got ", seed.dump().substr(0, 40));
    m.seed = seed.get<uint64_t>();
    m.train_size = io::json_int(j.at("train_size"), "train_size");
    int64_t R = io::json_int(j.at("slices"), "slices");
    for (const auto& sh : j.at("shard")) {
      SisaShard s;
      s.init = sh.at("init").get<std::string>();
      for (const auto& x : sh.at("slices"))
        s.slices.push_back({io::json_ints(x.at("indices"), "indices"),
                            x.at("hash").get<std::string>(),
                            x.at("checkpoint").get<std::string>()});
      LETHE_CHECK(static_cast<int64_t>(s.slices.size()) == R, "shard ", m.shards.size(), " has ",
                  s.slices.size(), " slices, expected ", R);
      m.shards.push_back(std::move(s));
    }
    LETHE_CHECK(m.num_shards() == io::json_int(j.at("shards"), "shards"), "shard count mismatch");
  } catch (const nlohmann::json::exception& e) {
    LETHE_FAIL(where, ": bad SISA manifest: ", e.what());
  } catch (const Error& e) {
    LETHE_FAIL(where, ": bad SISA manifest: ", e.what());
  }
  return m;
}

SisaManifest sisa_partition(const std::vector<int64_t>& train_idx, int64_t shards, int64_t slices,
                            uint64_t seed, int64_t epochs_per_slice) {
  const int64_t n = static_cast<int64_t>(train_idx.size());
  LETHE_CHECK(n >= shards * slices, "--sisa ", shards, ":", slices, ": ", n,
              " training samples cannot fill ", shards * slices, " non-empty slices");
  std::vector<int64_t> p = data::permutation(n, data::stream_key(seed, data::kSisaPartition));
  SisaManifest m;
  m.epochs_per_slice = epochs_per_slice;
  m.seed = seed;
  for (int64_t s = 0; s < shards; ++s) {
    int64_t lo = n * s / shards, hi = n * (s + 1) / shards, len = hi - lo;
    SisaShard sh;
    sh.init = sisa_init_path(s);
    for (int64_t r = 0; r < slices; ++r) {
      SisaSlice x;
      for (int64_t k = lo + len * r / slices; k < lo + len * (r + 1) / slices; ++k)
        x.indices.push_back(train_idx[p[k]]);
      std::sort(x.indices.begin(), x.indices.end());
      sh.slices.push_back(std::move(x));
    }
    m.shards.push_back(std::move(sh));
  }
  for (int64_t s = 0; s < shards; ++s)
    for (int64_t r = 0; r < slices; ++r) {
      SisaSlice& x = m.shards[s].slices[r];
      x.hash = indices_hash(m.seen(s, r));
      x.checkpoint = sisa_slice_path(s, r + 1, x.hash);
    }
  return m;
}

std::string sisa_init_path(int64_t shard) {
  return "sisa/shard-" + std::to_string(shard) + "/init.safetensors";
}

std::string sisa_slice_path(int64_t shard, int64_t slice, const std::string& hash) {
  return "sisa/shard-" + std::to_string(shard) + "/slice-" + std::to_string(slice) + "-" + hash +
         ".safetensors";
}

SisaManifest read_sisa_manifest(const std::string& run_dir) {
  return SisaManifest::from_json(
      io::read_run_record(run_dir, "sisa", "manifest.json", "--sisa S:R"),
      run_dir + "/sisa/manifest.json");
}

void write_sisa_manifest(const std::string& run_dir, const SisaManifest& m,
                         models::Ensemble::Aggregate agg) {
  io::write_json_atomic(run_dir + "/sisa/manifest.json", m.to_json());
  // What the run answers queries with: the last checkpoint of every shard (lethe eval loads it).
  std::vector<std::string> members;
  for (const auto& sh : m.shards)
    members.push_back(sh.slices.empty() ? sh.init : sh.slices.back().checkpoint);
  models::write_ensemble_json(run_dir, members, agg);
}

std::shared_ptr<models::Classifier> sisa_init_model(const models::ModelConfig& mc, uint64_t seed,
                                                    int64_t shard) {
  nn::manual_seed(data::stream_key(seed, data::kSisaInit, static_cast<uint64_t>(shard)));
  return models::build_model(mc);
}

int64_t sisa_train_stage(models::Classifier& model, const data::Dataset& train,
                         const std::vector<int64_t>& seen, const data::Normalization& norm,
                         const TrainConfig& cfg, int64_t epochs, uint64_t seed, int64_t shard,
                         int64_t slice) {
  // A stage restarts the optimizer and schedule: a checkpoint holds the model only (as in the
  // paper), so retraining from it must not depend on optimizer state that was never saved.
  TrainConfig stage = cfg;
  stage.epochs = epochs;
  stage.seed = data::stream_key(
      seed, data::kSisaStage, (static_cast<uint64_t>(shard) << 32) | static_cast<uint64_t>(slice));
  nn::manual_seed(stage.seed);  // stochastic layers (dropout) depend on the stage alone
  fit(
      model, train, seen, norm, stage,
      [](int64_t, const EpochStats& st, profile::Progress& prog) {
        char status[96];
        std::snprintf(status, sizeof status, "loss %.4f acc %.2f%%", st.loss, st.acc);
        prog.finish(status);
      },
      // A shard is a unit of one rank (train_sisa spreads shards over ranks), never averaged.
      [](EpochOptions& eo) { eo.comm = &dist::Communicator::self(); });
  return static_cast<int64_t>(seen.size()) * epochs;
}

SisaTrainResult train_sisa(const std::string& dir, const data::Dataset& train,
                           const std::vector<int64_t>& train_idx, const data::Normalization& norm,
                           const models::ModelConfig& mc, const TrainConfig& cfg,
                           const data::Dataset& test) {
  SisaSpec sp = parse_sisa_spec(cfg.sisa);
  const int64_t e = sisa_epochs_per_slice(cfg.epochs, sp.slices);
  SisaTrainResult res;
  res.manifest = sisa_partition(train_idx, sp.shards, sp.slices, cfg.seed, e);
  SisaManifest& m = res.manifest;
  m.train_size = train.size();
  // Several ranks: shard s is rank s mod N's unit (trained alone, bit-identical to one rank at
  // equal --threads); rank 0 loads every shard's last checkpoint once all are written.
  const dist::Communicator& world = dist::current();  // world(), unless nested in a unit
  // --resume: a shard continues after its last complete slice checkpoint (each is written
  // atomically, in slice order), bit-identical to an unbroken run because every stage restarts
  // its optimizer, schedule and random streams from (seed, shard, slice) and the checkpoint holds
  // the whole model state. sisa/identity.json binds the checkpoints to the options that made them.
  nlohmann::json identity = cfg.to_json();
  for (const char* k : {"out", "threads", "eval_every"}) identity.erase(k);
  const std::string ident_path = dir + "/sisa/identity.json";
  bool reuse = false;
  if (cfg.resume && fs::exists(ident_path)) {
    const nlohmann::json before = io::read_json(ident_path);
    for (const auto& [k, v] : identity.items())
      LETHE_CHECK(before.contains(k) && before[k] == v, "--resume: ", ident_path,
                  " was written with ", k, " = ",
                  before.contains(k) ? before[k].dump() : "(absent)", ", this run has ", v.dump(),
                  " (use another --out, or the same options)");
    reuse = true;
  }
  world.barrier();  // every rank has read identity.json before rank 0 rewrites it
  // Otherwise the run directory's sisa/ is this run's own: stale checkpoints of an overwritten
  // run go.
  if (world.is_root()) {
    if (!reuse) fs::remove_all(dir + "/sisa");
    fs::create_directories(dir + "/sisa");
    io::write_json_atomic(ident_path, identity);
  }
  world.barrier();
  const std::map<std::string, std::string> meta = {{"normalize", norm.to_json().dump()}};
  const std::string log_path =
      dir +
      (world.is_root() ? "/log.jsonl" : "/log.rank-" + std::to_string(world.rank()) + ".jsonl");
  // This rank's log is rewritten slice by slice below (reused slices marked).
  if (fs::exists(log_path)) fs::remove(log_path);
  std::vector<int64_t> test_idx = data::all_indices(test);
  nlohmann::json shard_acc = nlohmann::json::array();
  std::vector<Tensor> test_logits;  // each shard's, evaluated once for every aggregate
  auto acc_of = [&](const Tensor& logits) {
    std::vector<float> lv = logits.to_vector();
    const int64_t C = logits.size(1);
    const int64_t* y = test.labels.data<int64_t>();
    int64_t correct = 0;
    for (size_t i = 0; i < test_idx.size(); ++i) {
      int64_t best = 0;
      for (int64_t c = 1; c < C; ++c)
        if (lv[i * C + c] > lv[i * C + best]) best = c;
      correct += best == y[test_idx[i]];
    }
    return test_idx.empty() ? 0.0 : 100.0 * correct / static_cast<double>(test_idx.size());
  };
  for (int64_t s = world.rank(); s < sp.shards; s += world.size()) {
    fs::create_directories(dir + "/sisa/shard-" + std::to_string(s));
    int64_t done = 0;  // slices whose checkpoints a previous attempt completed
    if (reuse)
      while (done < sp.slices && fs::exists(dir + "/" + m.shards[s].slices[done].checkpoint))
        ++done;
    std::shared_ptr<models::Classifier> model = sisa_init_model(mc, cfg.seed, s);
    models::save_checkpoint(dir + "/" + m.shards[s].init, *model, mc, meta);
    if (done > 0) {
      model = models::load_checkpoint(dir + "/" + m.shards[s].slices[done - 1].checkpoint).model;
      std::fprintf(stderr, "sisa: shard %lld/%lld resumes after slice %lld\n",
                   static_cast<long long>(s + 1), static_cast<long long>(sp.shards),
                   static_cast<long long>(done));
    }
    for (int64_t r = 0; r < done; ++r)
      io::append_jsonl(log_path, {{"shard", s},
                                  {"slice", r + 1},
                                  {"seen", m.seen(s, r).size()},
                                  {"epochs", e},
                                  {"checkpoint", m.shards[s].slices[r].checkpoint},
                                  {"reused", true}});
    for (int64_t r = done; r < sp.slices; ++r) {
      std::vector<int64_t> seen = m.seen(s, r);
      std::fprintf(stderr, "sisa: shard %lld/%lld, slices 1..%lld (%zu samples, %lld epochs)\n",
                   static_cast<long long>(s + 1), static_cast<long long>(sp.shards),
                   static_cast<long long>(r + 1), seen.size(), static_cast<long long>(e));
      sisa_train_stage(*model, train, seen, norm, cfg, e, cfg.seed, s, r);
      models::save_checkpoint(dir + "/" + m.shards[s].slices[r].checkpoint, *model, mc, meta);
      io::append_jsonl(log_path, {{"shard", s},
                                  {"slice", r + 1},
                                  {"seen", seen.size()},
                                  {"epochs", e},
                                  {"checkpoint", m.shards[s].slices[r].checkpoint}});
    }
  }
  world.barrier();  // every shard's checkpoints are written
  if (!world.is_root()) return res;
  for (int64_t s = 0; s < sp.shards; ++s) {
    std::shared_ptr<models::Classifier> model =
        models::load_checkpoint(dir + "/" + m.shards[s].slices.back().checkpoint).model;
    test_logits.push_back(eval::predict_logits(*model, test, test_idx, norm));
    shard_acc.push_back(acc_of(test_logits.back()));
    res.models.push_back(model);
  }
  write_sisa_manifest(dir, m);
  res.report = {
      {"shards", sp.shards},
      {"slices", sp.slices},
      {"epochs_per_slice", e},
      {"aggregate", "vote"},
      {"test_acc_vote",
       acc_of(SisaEnsemble::aggregate_logits(test_logits, SisaEnsemble::Aggregate::Vote))},
      {"test_acc_softmax",
       acc_of(SisaEnsemble::aggregate_logits(test_logits, SisaEnsemble::Aggregate::Softmax))},
      {"shard_test_acc", shard_acc},
      {"work_samples_epochs", m.total_work()},
      {"model_safetensors", "shard 0's final model; the ensemble is in sisa/"}};
  return res;
}

}  // namespace lethe::train
