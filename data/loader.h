// Loader: batches over a Dataset and an index list, shuffled per epoch, optionally augmented,
// prepared one batch ahead on a background thread. Batches depend only on (seed, epoch), never
// on timing.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "data/transforms.h"

namespace lethe::data {

struct Batch {
  Tensor x;                      // f32 [B,C,H,W] in [0,1] for images, f32 [B,F] for tabular data
  Tensor y;                      // i64 [B]
  Tensor protected_attr;         // i64 [B] when the dataset has one
  std::vector<int64_t> indices;  // dataset indices of the rows, in batch order
  int64_t epoch = 0;
  // Rows of the whole batch this one is a slice of (LoaderOptions::parts); = rows when unsliced.
  int64_t global_rows = 0;
  // Moves x, y and protected_attr to `d` (a plain synchronous copy; the training loop's
  // overlapped upload is engine/core/uploader.h). No-op on the host.
  void move_to(Device d);
};

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = true;
  bool drop_last = false;
  Augment augment;  // images only
  uint64_t seed = 0;
  bool background = true;  // false: build each batch on the caller's thread (same batches)
  // Runs on the thread that builds the batch, after it is built (e.g. normalization); an
  // exception thrown here reaches the consumer from next().
  std::function<void(Batch&)> on_batch;
  // Replaces the rows' images by other inputs (e.g. cached prefix features, models/prefix_cache.h):
  // x = x_source(rows), the labels still come from the dataset; no augmentation applies.
  std::function<Tensor(const std::vector<int64_t>& rows)> x_source;
  // Data-parallel slicing: every batch of batch_size rows (the global batch, shuffled by the
  // same seed on every rank) is cut into `parts` contiguous slices and this loader yields slice
  // `part` only (rows [m·part/parts, m·(part+1)/parts) of a batch of m rows; possibly empty).
  int part = 0;
  int parts = 1;
};

class Loader {
 public:
  // Iterates `indices` (dataset rows; repeats allowed). The dataset's tensors are shared.
  Loader(const Dataset& data, std::vector<int64_t> indices, LoaderOptions opt);
  // Iterates the whole dataset.
  Loader(const Dataset& data, LoaderOptions opt);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Begins epoch `epoch` (any earlier epoch in flight is abandoned). next() without a
  // start_epoch() begins epoch 0.
  void start_epoch(int64_t epoch);
  // The next batch of the current epoch; false once the epoch is exhausted. Rethrows an
  // exception raised while building a batch.
  bool next(Batch& out);

  int64_t size() const { return static_cast<int64_t>(indices_.size()); }
  int64_t num_batches() const;
  // The order in which an epoch visits the index list.
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  // Builds the batch of the given dataset rows as epoch `epoch` would (used by the thread).
  Batch make_batch(const std::vector<int64_t>& rows, int64_t epoch) const;

 private:
  void stop();
  void produce();
  std::vector<int64_t> rows_of(int64_t b) const;  // this part's slice of batch b
  Batch make(int64_t b) const;

  Dataset data_;
  std::vector<int64_t> indices_;
  LoaderOptions opt_;

  int64_t epoch_ = 0;
  bool started_ = false;
  std::vector<int64_t> order_;
  int64_t next_batch_ = 0;  // synchronous mode only

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Batch> slot_;  // the prepared batch, waiting for the consumer
  std::exception_ptr error_;
  bool done_ = false, cancel_ = false;
};

}  // namespace lethe::data
