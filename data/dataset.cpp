// Dataset helpers: row subsets, concatenation, validation and the stratified split.
#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "data/random.h"

namespace lethe::data {

namespace {

// Copies rows `idx` of a row-major tensor (any dtype) into a new contiguous tensor.
Tensor gather_rows(const Tensor& t, const std::vector<int64_t>& idx) {
  Shape shape = t.shape();
  const int64_t n = shape[0];
  shape[0] = static_cast<int64_t>(idx.size());
  Tensor src = t.is_contiguous() ? t : t.clone();
  Tensor out = Tensor::empty(shape, t.dtype());
  const size_t row = static_cast<size_t>(n ? src.nbytes() / n : 0);
  const auto* s = static_cast<const uint8_t*>(src.raw());
  auto* d = static_cast<uint8_t*>(out.raw());
  for (size_t i = 0; i < idx.size(); ++i) {
    std::memcpy(d + i * row, s + static_cast<size_t>(idx[i]) * row, row);
  }
  return out;
}

}  // namespace

Dataset Dataset::subset(const std::vector<int64_t>& indices) const {
  const int64_t n = size();
  for (int64_t i : indices) {
    LETHE_CHECK(i >= 0 && i < n, "dataset ", name, ": subset index ", i, " out of range [0, ", n,
                ")");
  }
  Dataset out;
  out.images = gather_rows(images, indices);
  out.labels = gather_rows(labels, indices);
  if (protected_attr.defined()) out.protected_attr = gather_rows(protected_attr, indices);
  out.num_classes = num_classes;
  out.class_names = class_names;
  out.protected_names = protected_names;
  out.feature_names = feature_names;
  out.name = name;
  return out;
}

std::vector<int64_t> Dataset::class_counts() const {
  std::vector<int64_t> c(static_cast<size_t>(std::max<int64_t>(num_classes, 0)), 0);
  const int64_t* y = labels.data<int64_t>();
  for (int64_t i = 0; i < size(); ++i) {
    if (y[i] >= 0 && y[i] < num_classes) ++c[static_cast<size_t>(y[i])];
  }
  return c;
}

void Dataset::validate(const std::string& what) const {
  LETHE_CHECK(images.defined() && labels.defined(), what, ": dataset has no images or labels");
  LETHE_CHECK(labels.dtype() == DType::I64 && labels.dim() == 1, what, ": labels must be i64 [N]");
  LETHE_CHECK((images.dim() == 4 && images.dtype() == DType::U8) ||
                  (images.dim() == 2 && images.dtype() == DType::F32),
              what, ": samples must be u8 [N,C,H,W] or f32 [N,F], got ", dtype_name(images.dtype()),
              " ", shape_str(images.shape()));
  LETHE_CHECK(images.size(0) == labels.size(0), what, ": ", images.size(0), " samples but ",
              labels.size(0), " labels");
  LETHE_CHECK(num_classes > 0, what, ": no classes");
  LETHE_CHECK(class_names.empty() || static_cast<int64_t>(class_names.size()) == num_classes, what,
              ": ", class_names.size(), " class names for ", num_classes, " classes");
  const int64_t* y = labels.data<int64_t>();
  for (int64_t i = 0; i < size(); ++i) {
    LETHE_CHECK(y[i] >= 0 && y[i] < num_classes, what, ": label ", y[i], " at index ", i,
                " out of range [0, ", num_classes, ")");
  }
  if (protected_attr.defined()) {
    LETHE_CHECK(protected_attr.dtype() == DType::I64 && protected_attr.dim() == 1 &&
                    protected_attr.size(0) == size(),
                what, ": protected attribute must be i64 [N]");
  }
}

Dataset concat(const std::vector<Dataset>& parts) {
  LETHE_CHECK(!parts.empty(), "dataset concat: no parts");
  const Dataset& f = parts[0];
  int64_t n = 0;
  for (const Dataset& p : parts) {
    LETHE_CHECK(p.images.dtype() == f.images.dtype() && p.images.dim() == f.images.dim() &&
                    p.sample_numel() == f.sample_numel(),
                "dataset concat: ", p.name, " has samples of a different shape than ", f.name);
    LETHE_CHECK(p.has_protected() == f.has_protected(),
                "dataset concat: protected attribute present in only some parts");
    n += p.size();
  }
  auto stack = [&](auto get) {
    Tensor first = get(f);
    Shape shape = first.shape();
    shape[0] = n;
    Tensor out = Tensor::empty(shape, first.dtype());
    auto* d = static_cast<uint8_t*>(out.raw());
    for (const Dataset& p : parts) {
      Tensor t = get(p);
      if (!t.is_contiguous()) t = t.clone();
      std::memcpy(d, t.raw(), t.nbytes());
      d += t.nbytes();
    }
    return out;
  };
  Dataset out;
  out.images = stack([](const Dataset& p) { return p.images; });
  out.labels = stack([](const Dataset& p) { return p.labels; });
  if (f.has_protected())
    out.protected_attr = stack([](const Dataset& p) { return p.protected_attr; });
  out.num_classes = f.num_classes;
  out.class_names = f.class_names;
  out.protected_names = f.protected_names;
  out.feature_names = f.feature_names;
  out.name = f.name;
  return out;
}

void stratified_split(const Tensor& labels, int64_t num_classes, double test_fraction,
                      uint64_t seed, std::vector<int64_t>& train_idx,
                      std::vector<int64_t>& test_idx) {
  LETHE_CHECK(test_fraction >= 0.0 && test_fraction < 1.0, "split: test fraction ", test_fraction,
              " must be in [0, 1)");
  const int64_t n = labels.size(0);
  const int64_t* y = labels.data<int64_t>();
  std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(num_classes));
  for (int64_t i = 0; i < n; ++i) by_class[static_cast<size_t>(y[i])].push_back(i);
  train_idx.clear();
  test_idx.clear();
  for (int64_t c = 0; c < num_classes; ++c) {
    auto& v = by_class[static_cast<size_t>(c)];
    shuffle_with_key(v, stream_key(seed, kSplit, static_cast<uint64_t>(c)));
    const auto k = static_cast<size_t>(std::llround(test_fraction * static_cast<double>(v.size())));
    test_idx.insert(test_idx.end(), v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k));
    train_idx.insert(train_idx.end(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  }
  std::sort(train_idx.begin(), train_idx.end());
  std::sort(test_idx.begin(), test_idx.end());
}

std::vector<int64_t> all_indices(const Dataset& d) {
  std::vector<int64_t> v(d.size());
  for (int64_t i = 0; i < d.size(); ++i) v[i] = i;
  return v;
}

}  // namespace lethe::data
