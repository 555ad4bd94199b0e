#include "train/epoch_checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <stdexcept>

#include "engine/core/error.h"
#include "engine/io/tensor_io.h"

namespace lethe::train {

EpochCheckpoint::EpochCheckpoint(std::string path, nlohmann::json identity, int64_t every_steps)
    : path_(std::move(path)), identity_(std::move(identity)), every_steps_(every_steps) {}

namespace {
// Doubles in metadata as %.17g, which reads back to the same bits.
std::string exact(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}
}  // namespace

int64_t EpochCheckpoint::restore(const std::string& phase, nn::Module& model,
                                 optim::Optimizer& opt) const {
  if (!std::filesystem::exists(path_)) return 0;
  io::NamedTensors f = io::load_tensors(path_);
  auto meta = [&](const char* key) {
    auto it = f.metadata.find(key);
    LETHE_CHECK(it != f.metadata.end(), path_, ": not a resume checkpoint (no '", key, "')");
    return it->second;
  };
  nlohmann::json saved = nlohmann::json::parse(meta("identity"), nullptr, false);
  LETHE_CHECK(saved.is_object(), path_, ": corrupt 'identity' metadata");
  for (const auto& [k, v] : identity_.items())
    LETHE_CHECK(saved.contains(k) && saved[k] == v, "--resume: ", path_, " was written with ", k,
                " = ", saved.contains(k) ? saved[k].dump() : "(absent)", ", this run has ",
                v.dump(), " (use another --out, or the same options)");
  if (meta("phase") != phase) return 0;
  const int64_t done = std::stoll(meta("epochs_done"));
  std::map<std::string, Tensor> params, state;
  for (auto& [name, t] : f.tensors) {
    if (name.rfind("model.", 0) == 0)
      params.emplace(name.substr(6), t);
    else if (name.rfind("optim.", 0) == 0)
      state.emplace(name.substr(6), t);
    else
      LETHE_FAIL(path_, ": unexpected tensor '", name, "'");
  }
  // Strict: every parameter and buffer, same shapes (the file matched the identity above).
  auto own = model.named_parameters();
  for (auto& b : model.named_buffers()) own.push_back(b);
  LETHE_CHECK(own.size() == params.size(), path_, ": holds ", params.size(), " model tensors, the ",
              "model has ", own.size());
  for (auto& [name, t] : own) {
    auto it = params.find(name);
    LETHE_CHECK(it != params.end(), path_, ": lacks model tensor '", name, "'");
    LETHE_CHECK(it->second.shape() == t.shape() && it->second.dtype() == t.dtype(), path_,
                ": model tensor '", name, "' has shape ", shape_str(it->second.shape()));
    t.copy_(it->second);
  }
  opt.load_state(state, path_);
  return done;
}

int64_t EpochCheckpoint::epochs_done(const std::string& phase) const {
  if (!std::filesystem::exists(path_)) return 0;
  io::NamedTensors f = io::load_tensors(path_);
  auto p = f.metadata.find("phase"), d = f.metadata.find("epochs_done");
  if (p == f.metadata.end() || d == f.metadata.end() || p->second != phase) return 0;
  return std::stoll(d->second);
}

void EpochCheckpoint::save(const std::string& phase, int64_t epochs_done, const nn::Module& model,
                           const optim::Optimizer& opt, const EpochPosition* within) const {
  std::vector<std::pair<std::string, Tensor>> ts;
  for (auto& [name, t] : model.named_parameters()) ts.emplace_back("model." + name, t.cpu());
  for (auto& [name, t] : model.named_buffers()) ts.emplace_back("model." + name, t.cpu());
  for (auto& [name, t] : opt.state_dict()) ts.emplace_back("optim." + name, t);
  std::map<std::string, std::string> meta = {{"identity", identity_.dump()},
                                             {"phase", phase},
                                             {"epochs_done", std::to_string(epochs_done)}};
  if (within) {
    meta["step"] = std::to_string(within->step);
    meta["loss_sum"] = exact(within->loss_sum);
    meta["correct"] = std::to_string(within->correct);
    meta["seen"] = std::to_string(within->seen);
  }
  io::save_tensors(path_, ts, meta);
}

std::optional<EpochPosition> EpochCheckpoint::position(const std::string& phase) const {
  if (!std::filesystem::exists(path_)) return std::nullopt;
  io::NamedTensors f = io::load_tensors(path_);
  auto p = f.metadata.find("phase");
  if (p == f.metadata.end() || p->second != phase || !f.metadata.count("step")) return std::nullopt;
  auto num = [&](const char* key) {
    auto it = f.metadata.find(key);
    LETHE_CHECK(it != f.metadata.end(), path_, ": a mid-epoch checkpoint without '", key, "'");
    return it->second;
  };
  EpochPosition pos;
  try {
    pos.step = std::stoll(num("step"));
    pos.loss_sum = std::stod(num("loss_sum"));
    pos.correct = std::stoll(num("correct"));
    pos.seen = std::stoll(num("seen"));
  } catch (const std::logic_error&) {
    LETHE_FAIL(path_, ": corrupt mid-epoch position");
  }
  LETHE_CHECK(pos.step >= 0 && pos.correct >= 0 && pos.seen >= pos.correct, path_,
              ": corrupt mid-epoch position");
  return pos;
}

void EpochCheckpoint::hook_epoch(EpochOptions& eo, const std::string& phase, int64_t epoch,
                                 bool resumed, const nn::Module& model,
                                 const optim::Optimizer& opt) const {
  eo.resume_at.reset();
  if (resumed) eo.resume_at = position(phase);
  if (eo.resume_at)
    std::fprintf(stderr, "%s: resuming after step %lld of epoch %lld (%s)\n", phase.c_str(),
                 static_cast<long long>(eo.resume_at->step), static_cast<long long>(epoch + 1),
                 path_.c_str());
  eo.checkpoint_every = every_steps_;
  eo.save_position = [this, phase, epoch, &model, &opt](const EpochPosition& at) {
    save(phase, epoch, model, opt, &at);
  };
}

void EpochCheckpoint::remove() const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove(path_, ec);
  // Temporaries of a save that a kill interrupted (io::save_tensors writes PATH.tmp.PID).
  const fs::path p(path_);
  const std::string prefix = p.filename().string() + ".tmp.";
  for (const auto& entry :
       fs::directory_iterator(p.parent_path().empty() ? "." : p.parent_path(), ec))
    if (entry.path().filename().string().rfind(prefix, 0) == 0) fs::remove(entry.path(), ec);
}

}  // namespace lethe::train
