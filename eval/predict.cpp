#include "eval/predict.h"

#include "data/loader.h"
#include "engine/ops/ops.h"

namespace lethe::eval {

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

Tensor predict_logits(models::Classifier& model, const data::Dataset& d,
                      const std::vector<int64_t>& indices, const data::Normalization& norm,
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
  // A device-resident model gets each batch on its device and returns the logits to the host.
  const Device dev = model.device();
  while (loader.next(b)) parts.push_back(model.forward(norm.apply(b.x.to(dev))).cpu());
  model.train(was_training);
  if (parts.empty()) return Tensor::zeros({0, 0});
  return parts.size() == 1 ? parts[0] : ops::concat(parts, 0);
}

double accuracy(models::Classifier& model, const data::Dataset& d,
                const std::vector<int64_t>& indices, const data::Normalization& norm,
                int64_t batch) {
  if (indices.empty()) return 0;
  Tensor logits = predict_logits(model, d, indices, norm, batch);
  std::vector<int64_t> pred = argmax_rows(logits);
  int64_t correct = 0;
  const int64_t* y = d.labels.data<int64_t>();
  for (size_t i = 0; i < indices.size(); ++i) correct += pred[i] == y[indices[i]];
  return 100.0 * correct / static_cast<double>(indices.size());
}

}  // namespace lethe::eval
