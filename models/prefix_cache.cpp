#include "models/prefix_cache.h"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "data/loader.h"
#include "engine/autograd/autograd.h"
#include "engine/ops/ops.h"

namespace lethe::models {

namespace {
bool under(const std::string& name, const std::string& prefix) {
  return name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
         name[prefix.size()] == '.';
}
}  // namespace

FrozenCut frozen_prefix_cut(const Classifier& model) {
  FrozenCut r;
  std::string first;
  int64_t frozen_before = 0;
  for (const auto& [n, p] : model.named_parameters()) {
    if (p.requires_grad()) {
      first = n;
      break;
    }
    ++frozen_before;
  }
  if (first.empty()) {
    r.reason = "no parameter is trainable";
    return r;
  }
  if (frozen_before == 0) {
    r.reason = "the scope trains the whole network";
    return r;
  }
  // Registration order is forward order in every model, so everything registered before the
  // first trainable parameter is the frozen prefix.
  std::vector<std::string> blocks = model.block_paths();
  for (size_t c = 0; c < blocks.size(); ++c)
    if (under(first, blocks[c])) {
      r.cut = static_cast<int64_t>(c);
      r.at = blocks[c];
      return r;
    }
  if (under(first, model.head_prefix())) {
    r.cut = static_cast<int64_t>(blocks.size());
    r.at = "features";
    return r;
  }
  r.reason = "the first trainable parameter, " + first + ", is not at a block or the head";
  return r;
}

bool PrefixCache::fits(int64_t n_new, const Tensor& first_out) {
  Shape s = first_out.shape();
  s.erase(s.begin());
  int64_t numel = 1;
  for (int64_t d : s) numel *= d;
  if (row_numel_ == 0) {
    row_shape_ = s;
    row_numel_ = numel;
  }
  LETHE_CHECK(s == row_shape_, "prefix cache: rows of shape ", shape_str(s), " do not match ",
              shape_str(row_shape_));
  const int64_t need = bytes() + n_new * row_numel_ * static_cast<int64_t>(sizeof(float));
  return need <= max_bytes_;
}

void PrefixCache::append(const Tensor& out, const std::vector<int64_t>& keys) {
  std::vector<float> v = out.cpu().to_vector();
  for (size_t i = 0; i < keys.size(); ++i) {
    slot_.emplace(keys[i], rows());
    data_.insert(data_.end(), v.begin() + static_cast<int64_t>(i) * row_numel_,
                 v.begin() + static_cast<int64_t>(i + 1) * row_numel_);
  }
}

bool PrefixCache::add_rows(Classifier& model, const data::Dataset& d,
                           const std::vector<int64_t>& rows, const data::Normalization& norm,
                           int64_t batch) {
  std::vector<int64_t> todo;
  std::unordered_set<int64_t> queued;
  for (int64_t r : rows)
    if (!contains(r) && queued.insert(r).second) todo.push_back(r);
  if (todo.empty()) return true;
  data::LoaderOptions lo;
  lo.batch_size = batch;
  lo.shuffle = false;
  lo.background = false;
  data::Loader loader(d, todo, lo);
  data::Batch b;
  const bool was_training = model.is_training();
  model.train(false);
  NoGradGuard ng;
  bool ok = true;
  for (size_t at = 0; ok && at < todo.size(); at += static_cast<size_t>(batch)) {
    const size_t hi = std::min(todo.size(), at + static_cast<size_t>(batch));
    std::vector<int64_t> keys(todo.begin() + static_cast<int64_t>(at),
                              todo.begin() + static_cast<int64_t>(hi));
    b = loader.make_batch(keys, 0);
    Tensor x = model.device().is_cpu() ? b.x : b.x.to(model.device());
    Tensor out = model.forward_prefix(norm.apply(x), cut_);
    if (at == 0) ok = fits(static_cast<int64_t>(todo.size()), out);
    if (ok) append(out, keys);
  }
  model.train(was_training);
  return ok;
}

bool PrefixCache::add_inputs(Classifier& model, const Tensor& x01, int64_t first_key,
                             const data::Normalization& norm, int64_t batch) {
  const int64_t n = x01.size(0);
  if (n == 0) return true;
  const bool was_training = model.is_training();
  model.train(false);
  NoGradGuard ng;
  bool ok = true;
  for (int64_t at = 0; ok && at < n; at += batch) {
    const int64_t hi = std::min(n, at + batch);
    Tensor x = ops::slice(x01, 0, at, hi);
    if (!model.device().is_cpu()) x = x.to(model.device());
    Tensor out = model.forward_prefix(norm.apply(x), cut_);
    if (at == 0) ok = fits(n, out);
    std::vector<int64_t> keys;
    for (int64_t k = at; k < hi; ++k) keys.push_back(first_key + k);
    if (ok) append(out, keys);
  }
  model.train(was_training);
  return ok;
}

Tensor PrefixCache::gather(const std::vector<int64_t>& keys) const {
  Shape s = row_shape_;
  s.insert(s.begin(), static_cast<int64_t>(keys.size()));
  Tensor out = Tensor::empty(s, DType::F32);
  float* dst = out.data<float>();
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = slot_.find(keys[i]);
    LETHE_CHECK(it != slot_.end(), "prefix cache: row ", keys[i], " was never computed");
    std::memcpy(dst + static_cast<int64_t>(i) * row_numel_, data_.data() + it->second * row_numel_,
                sizeof(float) * static_cast<size_t>(row_numel_));
  }
  return out;
}

}  // namespace lethe::models
