// Amnesiac recording (Graves et al., AAAI 2021): the per-batch parameter updates that amnesiac
// unlearning later subtracts. See amnesiac.h for the layout and what is (not) recorded.
#include "train/amnesiac.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "data/forget.h"
#include "data/loader.h"
#include "engine/core/error.h"
#include "engine/io/json_checked.h"
#include "engine/io/run_dir.h"
#include "engine/io/tensor_io.h"

namespace lethe::train {
namespace fs = std::filesystem;

AmnesiacRecorder::AmnesiacRecorder(std::string run_dir, models::Classifier& model,
                                   std::vector<int64_t> tracked, std::string track_spec,
                                   int64_t train_size)
    : dir_(std::move(run_dir)),
      model_(model),
      tracked_(std::move(tracked)),
      is_tracked_(static_cast<size_t>(train_size), 0),
      spec_(std::move(track_spec)),
      train_size_(train_size) {
  for (int64_t i : tracked_) is_tracked_.at(static_cast<size_t>(i)) = 1;
  // The directory is this run's own: deltas of an overwritten run must not mix with these.
  fs::remove_all(dir_ + "/amnesiac");
  fs::create_directories(dir_ + "/amnesiac");
}

void AmnesiacRecorder::install(EpochOptions& eo) {
  eo.before_step = [this](const data::Batch& b) { before(b); };
  std::function<void()> prev = eo.after_step;
  eo.after_step = [this, prev] {
    if (prev) prev();  // e.g. a mask restore belongs to the step whose update is recorded
    after();
  };
}

void AmnesiacRecorder::before(const data::Batch& b) {
  if (b.epoch != epoch_) {
    epoch_ = b.epoch;
    batch_in_epoch_ = 0;
  }
  pending_ = false;
  for (int64_t i : b.indices)
    if (is_tracked_.at(static_cast<size_t>(i))) pending_ = true;
  before_.clear();
  if (pending_) {
    pending_indices_ = b.indices;
    for (const auto& [n, p] : model_.named_parameters()) before_.emplace_back(n, p.clone());
  }
}

void AmnesiacRecorder::after() {
  int64_t batch = batch_in_epoch_++;
  if (!pending_) return;
  pending_ = false;
  std::vector<std::pair<std::string, Tensor>> deltas;
  auto params = model_.named_parameters();
  LETHE_CHECK(params.size() == before_.size(), "amnesiac: the model's parameters changed");
  for (size_t k = 0; k < params.size(); ++k) {
    // Parameters are contiguous f32 leaves and the snapshot is a fresh clone of each.
    // Device-resident models: the update is read back to be written to disk anyway.
    const Tensor p = params[k].second.cpu();
    const Tensor b = before_[k].second.cpu();
    Tensor d = Tensor::empty(p.shape());
    const float* pa = p.data<float>();
    const float* pb = b.data<float>();
    float* pd = d.data<float>();
    for (int64_t i = 0; i < p.numel(); ++i) pd[i] = pa[i] - pb[i];
    deltas.emplace_back(params[k].first, d);
  }
  before_.clear();
  std::string rel =
      "amnesiac/e" + std::to_string(epoch_) + "-b" + std::to_string(batch) + ".safetensors";
  std::string path = dir_ + "/" + rel;
  io::save_tensors(path, deltas,
                   {{"format", "lethe-amnesiac"},
                    {"epoch", std::to_string(epoch_)},
                    {"batch", std::to_string(batch)}});
  bytes_ += static_cast<int64_t>(fs::file_size(path));
  records_.push_back(
      {{"file", rel}, {"epoch", epoch_}, {"batch", batch}, {"indices", pending_indices_}});
}

nlohmann::json AmnesiacRecorder::finish() {
  nlohmann::json index = {
      {"format", "lethe-amnesiac"}, {"version", 1},    {"track", spec_},     {"tracked", tracked_},
      {"train_size", train_size_},  {"bytes", bytes_}, {"batches", records_}};
  io::write_json_atomic(dir_ + "/amnesiac/index.json", index);
  std::fprintf(stderr,
               "amnesiac: recorded %zu batch updates, %lld bytes (%.1f MiB) in %s/amnesiac\n",
               records_.size(), static_cast<long long>(bytes_), bytes_ / 1048576.0, dir_.c_str());
  return {{"batches_recorded", records_.size()},
          {"bytes", bytes_},
          {"tracked", tracked_.size()},
          {"track", spec_.empty() ? "all" : spec_}};
}

std::unique_ptr<AmnesiacRecorder> make_amnesiac_recorder(const std::string& run_dir,
                                                         models::Classifier& model,
                                                         const data::Dataset& train,
                                                         const std::vector<int64_t>& train_idx,
                                                         const TrainConfig& cfg) {
  std::vector<int64_t> tracked = train_idx;
  if (!cfg.amnesiac_track.empty()) {
    std::vector<int64_t> spec = data::make_forget_split(cfg.amnesiac_track, train, cfg.seed).forget;
    std::vector<int64_t> sorted_train = train_idx;
    std::sort(sorted_train.begin(), sorted_train.end());
    tracked.clear();
    std::set_intersection(spec.begin(), spec.end(), sorted_train.begin(), sorted_train.end(),
                          std::back_inserter(tracked));
    LETHE_CHECK(!tracked.empty(), "--amnesiac-track ", cfg.amnesiac_track,
                ": selects no sample of the training set");
  }
  std::sort(tracked.begin(), tracked.end());
  // Bound: every batch of every epoch, or one batch per tracked sample and epoch if fewer.
  int64_t param_bytes = 0;
  for (const auto& [n, p] : model.named_parameters()) param_bytes += p.numel() * 4;
  int64_t batches = (static_cast<int64_t>(train_idx.size()) + cfg.batch - 1) / cfg.batch;
  int64_t bound = cfg.epochs * std::min<int64_t>(batches, tracked.size()) * param_bytes;
  std::fprintf(stderr,
               "amnesiac: storing the update of every batch holding one of %zu tracked samples: "
               "up to %lld bytes (%.1f MiB, %lld bytes per batch) in %s/amnesiac\n",
               tracked.size(), static_cast<long long>(bound), bound / 1048576.0,
               static_cast<long long>(param_bytes), run_dir.c_str());
  std::error_code ec;
  fs::space_info sp = fs::space(run_dir, ec);
  LETHE_CHECK(ec || static_cast<uintmax_t>(bound) < sp.available,
              "--amnesiac: the updates need up to ", bound, " bytes but ", run_dir, " has ",
              sp.available, " bytes free (limit them with --amnesiac-track SPEC)");
  return std::make_unique<AmnesiacRecorder>(run_dir, model, std::move(tracked), cfg.amnesiac_track,
                                            train.size());
}

AmnesiacIndex read_amnesiac_index(const std::string& run_dir) {
  const std::string path = run_dir + "/amnesiac/index.json";
  nlohmann::json j = io::read_run_record(run_dir, "amnesiac", "index.json", "--amnesiac");
  AmnesiacIndex ix;
  try {
    LETHE_CHECK(j.value("format", std::string()) == "lethe-amnesiac", "not an amnesiac index");
    ix.track = j.at("track").get<std::string>();
    ix.tracked = io::json_ints(j.at("tracked"), "tracked");
    ix.train_size = io::json_int(j.at("train_size"), "train_size");
    ix.bytes = j.contains("bytes") ? io::json_int(j.at("bytes"), "bytes") : 0;
    for (const auto& b : j.at("batches"))
      ix.batches.push_back({b.at("file").get<std::string>(), io::json_int(b.at("epoch"), "epoch"),
                            io::json_int(b.at("batch"), "batch"),
                            io::json_ints(b.at("indices"), "indices")});
  } catch (const nlohmann::json::exception& e) {
    LETHE_FAIL(path, ": bad amnesiac index: ", e.what());
  } catch (const Error& e) {
    LETHE_FAIL(path, ": bad amnesiac index: ", e.what());
  }
  return ix;
}

}  // namespace lethe::train
