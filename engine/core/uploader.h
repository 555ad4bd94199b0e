// Host-to-device uploads that overlap compute: the data loader's batches go through page-locked
// buffers and an asynchronous copy on the device's copy stream (DeviceMemory::upload_async), so
// the copy of batch k+1 runs while the device computes step k. Slots of pinned memory are used in
// turn; a slot is refilled only after the host waited for its previous copy (one event
// synchronisation per upload, issued a batch later, when that copy has long finished).
// The destination tensors come from the device's caching allocator, which does not track streams:
// a block freed while compute-stream kernels may still read it must not receive a copy-stream
// upload. train_epoch satisfies this because every step ends with the loss read-back, which
// waits for the compute stream, before any of the step's blocks can be reused by an upload.
#pragma once
#include <vector>

#include "engine/core/tensor.h"

namespace lethe {

class DeviceUploader {
 public:
  explicit DeviceUploader(Device device, int slots = 2);
  ~DeviceUploader();
  DeviceUploader(const DeviceUploader&) = delete;
  DeviceUploader& operator=(const DeviceUploader&) = delete;

  // Device copies of host tensors (any layout and dtype; kept as they are). Device work launched
  // after the call sees the data; the host tensors may be reused at once.
  std::vector<Tensor> upload(const std::vector<Tensor>& host);

 private:
  struct Slot {
    void* pinned = nullptr;
    size_t bytes = 0;
    int ticket = -1;  // the slot's last copy, not yet waited for
  };
  Device device_;
  std::vector<Slot> slots_;
  size_t next_ = 0;
};

}  // namespace lethe
