#include "models/ensemble.h"

#include <filesystem>

#include "engine/core/error.h"
#include "engine/io/run_dir.h"
#include "engine/ops/ops.h"

namespace lethe::models {

Ensemble::Ensemble(std::vector<std::shared_ptr<Classifier>> members, Aggregate agg)
    : members_(std::move(members)), agg_(agg) {
  LETHE_CHECK(!members_.empty(), "Ensemble: no member models");
  // Member 0's tensors and children under their own names: state_dict() (and so
  // model.safetensors written by the callers) is exactly member 0's checkpoint.
  Classifier& m0 = *members_[0];
  for (const auto& [n, t] : m0.named_parameters())
    if (n.find('.') == std::string::npos) register_parameter(n, t);
  for (const auto& [n, t] : m0.named_buffers())
    if (n.find('.') == std::string::npos) register_buffer(n, t);
  for (const auto& [n, c] : m0.named_children()) register_module(n, c);
}

Ensemble::Aggregate Ensemble::parse_aggregate(const std::string& s) {
  if (s == "vote") return Aggregate::Vote;
  if (s == "softmax") return Aggregate::Softmax;
  LETHE_FAIL("ensemble aggregate: unknown '", s, "' (use vote or softmax)");
}

const char* Ensemble::aggregate_name(Aggregate a) {
  return a == Aggregate::Vote ? "vote" : "softmax";
}

void Ensemble::train(bool on) {
  Module::train(on);
  for (auto& m : members_) m->train(on);
}

int64_t Ensemble::num_features() const {
  int64_t f = 0;
  for (const auto& m : members_) f += m->num_features();
  return f;
}

Tensor Ensemble::aggregate_logits(const std::vector<Tensor>& logits, Aggregate agg) {
  const int64_t N = logits[0].size(0), C = logits[0].size(1);
  const double inv = 1.0 / static_cast<double>(logits.size());
  Tensor prob_sum;
  for (const Tensor& l : logits) {
    Tensor p = ops::softmax(l, 1);
    prob_sum = prob_sum.defined() ? ops::add(prob_sum, p) : p;
  }
  if (agg == Aggregate::Softmax) return ops::mul(prob_sum, inv);
  // Vote: the counts (read back: argmax is a host decision here), plus half the mean
  // probability, which breaks ties between equal counts (its total over classes is 0.5 < 1, so
  // it never overturns a vote).
  std::vector<float> votes(static_cast<size_t>(N * C), 0.f);
  for (const Tensor& l : logits) {
    std::vector<float> lv = l.detach().to_vector();
    for (int64_t i = 0; i < N; ++i) {
      int64_t best = 0;
      for (int64_t c = 1; c < C; ++c)
        if (lv[i * C + c] > lv[i * C + best]) best = c;
      votes[i * C + best] += 1.f;
    }
  }
  Tensor v = Tensor::from_vector({N, C}, votes).to(logits[0].device());
  return ops::add(v, ops::mul(prob_sum, 0.5 * inv));
}

Tensor Ensemble::forward(const Tensor& x) {
  std::vector<Tensor> logits;
  for (auto& m : members_) logits.push_back(m->forward(x));
  return aggregate_logits(logits, agg_);
}

Tensor Ensemble::forward_features(const Tensor& x) {
  std::vector<Tensor> fs;
  for (auto& m : members_) fs.push_back(m->forward_features(x));
  return ops::concat(fs, 1);
}

Tensor Ensemble::forward_head(const Tensor& f) {
  std::vector<Tensor> logits;
  int64_t at = 0;
  for (auto& m : members_) {
    int64_t k = m->num_features();
    logits.push_back(m->forward_head(ops::slice(f, 1, at, at + k)));
    at += k;
  }
  return aggregate_logits(logits, agg_);
}

void write_ensemble_json(const std::string& dir, const std::vector<std::string>& members,
                         Ensemble::Aggregate agg) {
  io::write_json_atomic(dir + "/ensemble.json",
                        {{"members", members}, {"aggregate", Ensemble::aggregate_name(agg)}});
}

Checkpoint load_run_model(const std::string& dir) {
  const std::string manifest = dir + "/ensemble.json";
  if (!std::filesystem::exists(manifest)) return load_checkpoint(dir + "/model.safetensors");
  nlohmann::json j = io::read_json(manifest);
  LETHE_CHECK(j.contains("members") && j["members"].is_array() && !j["members"].empty(), manifest,
              ": 'members' must be a non-empty list of checkpoint paths");
  std::vector<std::shared_ptr<Classifier>> members;
  Checkpoint first;
  for (const auto& p : j["members"]) {
    LETHE_CHECK(p.is_string(), manifest, ": member paths must be strings");
    Checkpoint c = load_checkpoint(dir + "/" + p.get<std::string>());
    if (members.empty()) first = c;
    LETHE_CHECK(c.config.to_json() == first.config.to_json(), manifest, ": member ",
                p.get<std::string>(), " is another model than member 0");
    members.push_back(c.model);
  }
  first.model = std::make_shared<Ensemble>(
      members, Ensemble::parse_aggregate(j.value("aggregate", std::string("vote"))));
  return first;
}

}  // namespace lethe::models
