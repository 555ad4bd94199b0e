#include "train/trainer.h"

#include <chrono>
#include <cstdio>

#include "data/loader.h"
#include "engine/ops/ops.h"
#include "eval/predict.h"

namespace lethe::train {

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
                       const std::vector<int64_t>& indices, const data::Normalization& norm,
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
    std::vector<int64_t> pred = eval::argmax_rows(logits), yv = b.y.to_vector_i64();
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

}  // namespace lethe::train
