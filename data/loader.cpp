// Loader. One producer thread per epoch fills a single-slot buffer: while the consumer trains on
// batch b, batch b+1 is being built (double buffering).
#include "data/loader.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "data/random.h"

namespace lethe::data {

void Batch::move_to(Device d) {
  if (d.is_cpu()) return;
  x = x.to(d);
  y = y.to(d);
  if (protected_attr.defined()) protected_attr = protected_attr.to(d);
}

Loader::Loader(const Dataset& data, std::vector<int64_t> indices, LoaderOptions opt)
    : data_(data), indices_(std::move(indices)), opt_(std::move(opt)) {
  LETHE_CHECK(opt_.batch_size > 0, "loader: batch size must be positive, got ", opt_.batch_size);
  LETHE_CHECK(opt_.parts >= 1 && opt_.part >= 0 && opt_.part < opt_.parts, "loader: slice ",
              opt_.part, " of ", opt_.parts, " is out of range");
  LETHE_CHECK(data_.images.defined() && data_.labels.defined(), "loader: dataset ", data_.name,
              " is empty");
  LETHE_CHECK(data_.images.is_contiguous() && data_.labels.is_contiguous(),
              "loader: dataset tensors must be contiguous");
  const int64_t n = data_.size();
  for (int64_t i : indices_) {
    LETHE_CHECK(i >= 0 && i < n, "loader: index ", i, " out of range for ", data_.name, " (", n,
                " samples)");
  }
  LETHE_CHECK(!opt_.augment.enabled() || data_.is_image(),
              "loader: augmentation needs image data, ", data_.name, " is tabular");
}

Loader::Loader(const Dataset& data, LoaderOptions opt)
    : Loader(
          data,
          [&] {
            std::vector<int64_t> all(static_cast<size_t>(data.size()));
            std::iota(all.begin(), all.end(), int64_t{0});
            return all;
          }(),
          std::move(opt)) {}

Loader::~Loader() {
  stop();
}

int64_t Loader::num_batches() const {
  const int64_t n = size(), b = opt_.batch_size;
  return opt_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> Loader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order = indices_;
  if (opt_.shuffle)
    shuffle_with_key(order, stream_key(opt_.seed, kShuffle, static_cast<uint64_t>(epoch)));
  return order;
}

std::vector<int64_t> Loader::rows_of(int64_t b) const {
  const int64_t lo = b * opt_.batch_size, hi = std::min(lo + opt_.batch_size, size());
  const int64_t m = hi - lo, p = opt_.part, n = opt_.parts;
  return std::vector<int64_t>(order_.begin() + lo + m * p / n,
                              order_.begin() + lo + m * (p + 1) / n);
}

Batch Loader::make(int64_t b) const {
  Batch out = make_batch(rows_of(b), epoch_);
  const int64_t lo = b * opt_.batch_size;
  out.global_rows = std::min(lo + opt_.batch_size, size()) - lo;
  return out;
}

Batch Loader::make_batch(const std::vector<int64_t>& rows, int64_t epoch) const {
  Batch out;
  out.indices = rows;
  out.epoch = epoch;
  const auto bsz = static_cast<int64_t>(rows.size());
  const int64_t per = data_.sample_numel();
  Shape xs = data_.images.shape();
  xs[0] = bsz;
  out.x = opt_.x_source ? opt_.x_source(rows) : Tensor::empty(xs, DType::F32);
  float* x = opt_.x_source ? nullptr : out.x.data<float>();
  if (opt_.x_source) {
    // The inputs came from x_source; only the labels are the dataset's.
  } else if (data_.images.dtype() == DType::U8) {
    const uint8_t* src = data_.images.data<uint8_t>();
    const bool aug = opt_.augment.enabled();
    const float* lut = u8_to_float01_table();
    std::vector<float> tmp(aug ? static_cast<size_t>(per) : 0);
    for (int64_t b = 0; b < bsz; ++b) {
      const uint8_t* s = src + rows[static_cast<size_t>(b)] * per;
      float* d = x + b * per;
      float* f = aug ? tmp.data() : d;
      for (int64_t j = 0; j < per; ++j) f[j] = lut[s[j]];
      if (aug) {
        augment_sample(tmp.data(), d, data_.channels(), data_.height(), data_.width(),
                       opt_.augment.crop_pad,
                       draw_augment(opt_.augment, opt_.seed, epoch, rows[static_cast<size_t>(b)]));
      }
    }
  } else {
    const float* src = data_.images.data<float>();
    for (int64_t b = 0; b < bsz; ++b) {
      std::memcpy(x + b * per, src + rows[static_cast<size_t>(b)] * per,
                  sizeof(float) * static_cast<size_t>(per));
    }
  }
  out.y = Tensor::empty({bsz}, DType::I64);
  const int64_t* ys = data_.labels.data<int64_t>();
  for (int64_t b = 0; b < bsz; ++b) out.y.data<int64_t>()[b] = ys[rows[static_cast<size_t>(b)]];
  if (data_.has_protected()) {
    out.protected_attr = Tensor::empty({bsz}, DType::I64);
    const int64_t* ps = data_.protected_attr.data<int64_t>();
    for (int64_t b = 0; b < bsz; ++b) {
      out.protected_attr.data<int64_t>()[b] = ps[rows[static_cast<size_t>(b)]];
    }
  }
  if (opt_.on_batch) opt_.on_batch(out);
  return out;
}

void Loader::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    cancel_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  slot_.reset();
  error_ = nullptr;
  done_ = false;
  cancel_ = false;
}

void Loader::start_epoch(int64_t epoch) {
  stop();
  epoch_ = epoch;
  order_ = epoch_order(epoch);
  next_batch_ = 0;
  started_ = true;
  if (opt_.background) thread_ = std::thread([this] { produce(); });
}

void Loader::produce() {
  const int64_t nb = num_batches();
  for (int64_t b = 0; b < nb; ++b) {
    std::optional<Batch> batch;
    try {
      batch = make(b);
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      error_ = std::current_exception();
      done_ = true;
      cv_.notify_all();
      return;
    }
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait(lk, [&] { return !slot_ || cancel_; });
    if (cancel_) return;
    slot_ = std::move(batch);
    cv_.notify_all();
  }
  std::lock_guard<std::mutex> lk(mu_);
  done_ = true;
  cv_.notify_all();
}

bool Loader::next(Batch& out) {
  if (!started_) start_epoch(0);
  if (!opt_.background) {
    if (next_batch_ >= num_batches()) return false;
    out = make(next_batch_);
    ++next_batch_;
    return true;
  }
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return slot_.has_value() || done_; });
  if (slot_) {
    out = std::move(*slot_);
    slot_.reset();
    cv_.notify_all();
    return true;
  }
  if (error_) {
    // Report once; the epoch then reads as finished.
    std::exception_ptr e = error_;
    error_ = nullptr;
    std::rethrow_exception(e);
  }
  return false;
}

}  // namespace lethe::data
