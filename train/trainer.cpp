#include "train/trainer.h"

#include <chrono>
#include <cstdio>

#include "data/loader.h"
#include "engine/ops/ops.h"

namespace lethe::train {

Tensor Normalization::apply(const Tensor& x01) const {
  if (mean.empty()) return x01;
  int64_t C = static_cast<int64_t>(mean.size());
  LETHE_CHECK(x01.dim() >= 2 && x01.size(1) == C, "normalization: input ", shape_str(x01.shape()),
              " does not have ", C, " channels");
  Shape s(x01.dim(), 1);
  s[1] = C;
  std::vector<float> inv(std.size());
  for (size_t i = 0; i < std.size(); ++i) inv[i] = 1.f / std[i];
  Tensor m = Tensor::from_vector(s, mean), r = Tensor::from_vector(s, inv);
  return ops::mul(ops::sub(x01, m), r);
}

nlohmann::json Normalization::to_json() const {
  return {{"mean", mean}, {"std", std}};
}

Normalization Normalization::from_json(const nlohmann::json& j) {
  Normalization n;
  if (j.is_null()) return n;
  n.mean = j.at("mean").get<std::vector<float>>();
  n.std = j.at("std").get<std::vector<float>>();
  LETHE_CHECK(n.mean.size() == n.std.size(), "normalization: mean and std differ in length");
  for (float s : n.std) LETHE_CHECK(s > 0, "normalization: std must be positive");
  return n;
}

Normalization Normalization::from_run(const std::map<std::string, std::string>& metadata,
                                      const nlohmann::json& config) {
  auto it = metadata.find("normalize");
  if (it != metadata.end()) return from_json(nlohmann::json::parse(it->second));
  return from_json(config.value("normalize", nlohmann::json()));
}

std::vector<int64_t> argmax_rows(const Tensor& logits) {
  std::vector<float> v = logits.detach().to_vector();
  int64_t n = logits.size(0), c = logits.size(1);
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t k = 1; k < c; ++k)
      if (v[i * c + k] > v[i * c + best]) best = k;
    out[i] = best;
  }
  return out;
}

Normalization Normalization::from_dataset(const data::Dataset& d) {
  Normalization n;
  if (!d.is_image()) return n;  // tabular features are standardized by the loader
  data::channel_stats(d, n.mean, n.std);
  for (float& s : n.std) s = std::max(s, 1e-3f);
  return n;
}

std::vector<int64_t> all_indices(const data::Dataset& d) {
  std::vector<int64_t> v(d.size());
  for (int64_t i = 0; i < d.size(); ++i) v[i] = i;
  return v;
}

data::Augment parse_augment(const std::string& spec, const data::Dataset& d) {
  data::Augment a;
  if (spec == "none" || spec.empty()) return a;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    std::string t = spec.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (t == "crop")
      a.crop_pad = d.height() >= 32 ? 4 : 2;
    else if (t == "flip")
      a.flip = true;
    else
      LETHE_FAIL("--augment: unknown transform '", t, "' (use crop, flip, crop,flip or none)");
    if (end == std::string::npos) break;
    start = end + 1;
  }
  LETHE_CHECK(d.is_image() || !a.enabled(), "--augment: ", spec, " needs image data");
  return a;
}

EpochStats train_epoch(models::Classifier& model, optim::Optimizer& opt, const data::Dataset& d,
                       const std::vector<int64_t>& indices, const Normalization& norm,
                       const EpochOptions& o, int64_t epoch, profile::Progress* progress) {
  model.train(true);
  data::LoaderOptions lo;
  lo.batch_size = o.batch;
  lo.shuffle = o.shuffle;
  lo.drop_last = o.drop_last;
  lo.augment = o.augment;
  lo.seed = o.seed;
  data::Loader loader(d, indices, lo);
  loader.start_epoch(epoch);
  auto t0 = std::chrono::steady_clock::now();
  double loss_sum = 0;
  int64_t correct = 0, seen = 0;
  data::Batch b;
  char status[96];
  while (loader.next(b)) {
    if (b.y.numel() < 2 && model.is_training()) continue;  // batch norm needs > 1 sample
    if (o.relabel) {
      std::vector<int64_t> y = b.y.to_vector_i64();
      for (size_t i = 0; i < y.size(); ++i) y[i] = o.relabel(b.indices[i], y[i], epoch);
      b.y = Tensor::from_vector_i64(b.y.shape(), y);
    }
    if (o.before_step) o.before_step(b);
    if (o.perturb) b.x = o.perturb(b.x, b.y);
    opt.zero_grad();
    Tensor logits = model.forward(norm.apply(b.x));
    Tensor loss = ops::cross_entropy(logits, b.y, ops::Reduction::Mean, o.label_smoothing);
    Tensor objective = o.loss_sign == 1 ? loss : ops::mul(loss, o.loss_sign);
    if (o.extra_loss) objective = ops::add(objective, o.extra_loss());
    objective.backward();
    opt.step();
    if (o.after_step) o.after_step();
    int64_t n = b.y.numel();
    loss_sum += loss.item() * n;
    std::vector<int64_t> pred = argmax_rows(logits), yv = b.y.to_vector_i64();
    for (int64_t i = 0; i < n; ++i) correct += pred[i] == yv[i];
    seen += n;
    if (progress) {
      std::snprintf(status, sizeof status, "loss %.4f acc %.2f%%", loss_sum / seen,
                    100.0 * correct / seen);
      progress->advance(n, status);
    }
  }
  EpochStats s;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.loss = seen ? loss_sum / seen : 0;
  s.acc = seen ? 100.0 * correct / seen : 0;
  s.samples_per_s = s.seconds > 0 ? seen / s.seconds : 0;
  return s;
}

Tensor predict_logits(models::Classifier& model, const data::Dataset& d,
                      const std::vector<int64_t>& indices, const Normalization& norm,
                      int64_t batch) {
  bool was_training = model.is_training();
  model.train(false);
  NoGradGuard ng;
  data::LoaderOptions lo;
  lo.batch_size = batch;
  lo.shuffle = false;
  data::Loader loader(d, indices, lo);
  std::vector<Tensor> parts;
  data::Batch b;
  while (loader.next(b)) parts.push_back(model.forward(norm.apply(b.x)));
  model.train(was_training);
  if (parts.empty()) return Tensor::zeros({0, 0});
  return parts.size() == 1 ? parts[0] : ops::concat(parts, 0);
}

double accuracy(models::Classifier& model, const data::Dataset& d,
                const std::vector<int64_t>& indices, const Normalization& norm, int64_t batch) {
  if (indices.empty()) return 0;
  Tensor logits = predict_logits(model, d, indices, norm, batch);
  std::vector<int64_t> pred = argmax_rows(logits);
  int64_t correct = 0;
  const int64_t* y = d.labels.data<int64_t>();
  for (size_t i = 0; i < indices.size(); ++i) correct += pred[i] == y[indices[i]];
  return 100.0 * correct / static_cast<double>(indices.size());
}

}  // namespace lethe::train
