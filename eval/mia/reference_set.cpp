// Reference-model files and the pool identity; see reference_set.h for the layout.
#include "eval/mia/reference_set.h"

#include <cstdio>
#include <filesystem>

#include "engine/core/error.h"
#include "engine/io/run_dir.h"
#include "engine/io/safetensors.h"

namespace lethe::eval::mia {

nlohmann::json PoolInfo::to_json() const {
  return {{"data", data},
          {"subset", subset},
          {"seed", seed},
          {"n_train", n_train},
          {"n_test", n_test},
          {"hash", hash},
          {"layout", "training rows (index i) then test rows (index n_train + i)"}};
}

PoolInfo PoolInfo::from_json(const nlohmann::json& j) {
  PoolInfo p;
  p.data = j.at("data").get<std::string>();
  p.subset = j.at("subset").get<int64_t>();
  p.seed = j.at("seed").get<uint64_t>();
  p.n_train = j.at("n_train").get<int64_t>();
  p.n_test = j.at("n_test").get<int64_t>();
  p.hash = j.at("hash").get<std::string>();
  return p;
}

namespace {

void fnv(uint64_t& h, const void* bytes, size_t n) {
  const auto* b = static_cast<const uint8_t*>(bytes);
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 0x100000001b3ULL;
  }
}

void hash_dataset(uint64_t& h, const data::Dataset& d) {
  if (d.size() == 0) return;
  for (const Tensor& t : {d.images, d.labels}) {
    Tensor c = t.is_contiguous() ? t : t.clone();
    fnv(h, c.raw(), c.nbytes());
  }
}

}  // namespace

PoolInfo pool_info(const data::DataSplit& ds, const std::string& data, int64_t subset,
                   uint64_t seed) {
  PoolInfo p;
  p.data = data;
  p.subset = subset;
  p.seed = seed;
  p.n_train = ds.train.size();
  p.n_test = ds.test.size();
  uint64_t h = 0xcbf29ce484222325ULL;
  hash_dataset(h, ds.train);
  hash_dataset(h, ds.test);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  p.hash = buf;
  return p;
}

void check_same_pool(const PoolInfo& r, const PoolInfo& t, const std::string& dir) {
  if (r.n_train == t.n_train && r.n_test == t.n_test && r.hash == t.hash) return;
  std::string diff;
  auto add = [&](const std::string& what, const std::string& a, const std::string& b) {
    if (a != b) diff += (diff.empty() ? "" : ", ") + what + " " + b + " vs " + a;
  };
  add("data", r.data, t.data);
  add("subset", std::to_string(r.subset), std::to_string(t.subset));
  add("seed", std::to_string(r.seed), std::to_string(t.seed));
  add("train rows", std::to_string(r.n_train), std::to_string(t.n_train));
  add("test rows", std::to_string(r.n_test), std::to_string(t.n_test));
  add("content hash", r.hash, t.hash);
  LETHE_FAIL("--references ", dir,
             ": the reference models were trained on another data pool than the target run (", diff,
             " for target vs references); train them with the target's --data, --subset "
             "and --seed");
}

ReferenceSet read_reference_set(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string hint = " (written by lethe train --reference-models M --out DIR)";
  LETHE_CHECK(fs::exists(dir + "/config.json"), "--references ", dir, ": no config.json", hint);
  ReferenceSet r;
  r.config = io::read_json(dir + "/config.json");
  LETHE_CHECK(r.config.contains("reference_models") && r.config.contains("pool"), "--references ",
              dir, "/config.json: not a reference-model directory", hint);
  r.pool = PoolInfo::from_json(r.config.at("pool"));
  r.models = r.config.at("reference_models").get<int64_t>();
  const int64_t P = r.pool.size();
  const std::string inc_path = dir + "/inclusion.safetensors";
  const std::string log_path = dir + "/logits.safetensors";
  LETHE_CHECK(fs::exists(inc_path) && fs::exists(log_path), "--references ", dir,
              ": inclusion.safetensors or logits.safetensors missing (training unfinished?)", hint);
  io::SafetensorsFile inc = io::read_safetensors(inc_path);
  auto it = inc.tensors.find("inclusion");
  LETHE_CHECK(it != inc.tensors.end() && it->second.dtype == io::StDType::U8 &&
                  it->second.shape == std::vector<int64_t>({r.models, P}),
              inc_path, ": expected U8 tensor 'inclusion' of shape [", r.models, ", ", P, "]");
  r.inclusion = it->second.data;
  io::SafetensorsFile lg = io::read_safetensors(log_path);
  auto lt = lg.tensors.find("logits");
  auto yt = lg.tensors.find("labels");
  LETHE_CHECK(lt != lg.tensors.end() && lt->second.shape.size() == 3 &&
                  lt->second.shape[0] == r.models && lt->second.shape[1] == P,
              log_path, ": expected tensor 'logits' of shape [", r.models, ", ", P, ", C]");
  LETHE_CHECK(yt != lg.tensors.end() && yt->second.shape == std::vector<int64_t>({P}), log_path,
              ": expected tensor 'labels' of shape [", P, "]");
  r.classes = lt->second.shape[2];
  r.logits = io::to_f32(lt->second, "logits");
  r.labels = io::to_i64(yt->second, "labels");
  for (int64_t y : r.labels)
    LETHE_CHECK(y >= 0 && y < r.classes, log_path, ": label ", y, " outside [0, ", r.classes, ")");
  return r;
}

void write_reference_cache(const std::string& dir, const ReferenceSet& r) {
  const int64_t P = r.pool_size();
  LETHE_CHECK(r.inclusion.size() == static_cast<size_t>(r.models * P) &&
                  r.logits.size() == static_cast<size_t>(r.models * P * r.classes) &&
                  r.labels.size() == static_cast<size_t>(P),
              "reference cache: sizes do not match ", r.models, " models × ", P, " samples");
  io::SafetensorsFile inc;
  inc.tensors["inclusion"] = io::from_u8({r.models, P}, r.inclusion.data());
  io::write_safetensors(dir + "/inclusion.safetensors", inc);
  io::SafetensorsFile lg;
  lg.tensors["logits"] = io::from_f32({r.models, P, r.classes}, r.logits.data());
  lg.tensors["labels"] = io::from_i64({P}, r.labels.data());
  io::write_safetensors(dir + "/logits.safetensors", lg);
}

}  // namespace lethe::eval::mia
