#include "engine/core/uploader.h"

#include <cstring>

namespace lethe {

namespace {
constexpr size_t kAlign = 256;
size_t aligned(size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}
}  // namespace

DeviceUploader::DeviceUploader(Device device, int slots)
    : device_(device), slots_(static_cast<size_t>(slots)) {
  LETHE_CHECK(!device.is_cpu(), "uploader: needs a device, not the host");
  LETHE_CHECK(slots >= 1, "uploader: needs at least one slot");
}

DeviceUploader::~DeviceUploader() {
  DeviceMemory* mem = device_.memory();
  for (Slot& s : slots_) {
    if (!s.pinned) continue;
    try {
      if (s.ticket >= 0) mem->upload_wait(s.ticket);  // no copy may read freed memory
    } catch (...) {
    }
    mem->free_pinned(s.pinned);
  }
}

std::vector<Tensor> DeviceUploader::upload(const std::vector<Tensor>& host) {
  DeviceMemory* mem = device_.memory();
  Slot& s = slots_[next_];
  next_ = (next_ + 1) % slots_.size();
  if (s.ticket >= 0) mem->upload_wait(s.ticket);
  s.ticket = -1;
  std::vector<Tensor> contiguous;
  size_t total = 0;
  for (const Tensor& t : host) {
    LETHE_CHECK(!t.defined() || t.is_cpu(), "uploader: a tensor already on device '",
                t.device().name(), "'");
    contiguous.push_back(!t.defined() || t.is_contiguous() ? t : t.clone());
    if (t.defined()) total += aligned(t.nbytes());
  }
  if (total > s.bytes) {
    mem->free_pinned(s.pinned);
    s.pinned = nullptr;
    s.pinned = mem->allocate_pinned(total);
    s.bytes = total;
  }
  std::vector<Tensor> out;
  size_t at = 0;
  for (const Tensor& t : contiguous) {
    if (!t.defined()) {
      out.emplace_back();
      continue;
    }
    uint8_t* staged = static_cast<uint8_t*>(s.pinned) + at;
    if (t.nbytes()) std::memcpy(staged, t.raw(), t.nbytes());
    Tensor d = Tensor::empty(t.shape(), t.dtype(), device_);
    s.ticket = mem->upload_async(d.data_ptr(), staged, t.nbytes());
    out.push_back(d);
    at += aligned(t.nbytes());
  }
  return out;
}

}  // namespace lethe
