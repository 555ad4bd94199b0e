// Where a tensor's bytes live: the host (the default) or the memory of a device backend (emu,
// cuda). engine/core sees a device only through DeviceMemory; engine/backend/cuda implements it
// with its caching allocator and the runtime's copies, so Storage can own device memory and
// Tensor::copy_ / to(Device) / cpu() can move data without knowing the runtime. Host code never
// dereferences a device pointer: Tensor::data<T>() and raw() refuse device tensors, and the
// accessors that read values on the host (item(), at(), to_vector()) copy explicitly.
#pragma once
#include <cstddef>
#include <string>

namespace lethe {

class Backend;
class Tensor;

class DeviceMemory {
 public:
  virtual ~DeviceMemory() = default;
  virtual const char* name() const = 0;
  // The backend that runs ops on this device's tensors.
  virtual Backend& backend() = 0;
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* p, size_t bytes) noexcept = 0;
  // Synchronous copies between pageable host memory and this device.
  virtual void copy_to_device(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t bytes) = 0;
  // dst = src for two views on this device of the same shape and dtype, any strides.
  virtual void copy_view(const Tensor& src, const Tensor& dst) = 0;
  // Every element of a view on this device = value (converted to its dtype).
  virtual void fill(const Tensor& t, double value) = 0;

  // Overlapped uploads (the data loader's batches): page-locked host buffers, and a copy on the
  // device's copy stream that returns at once; the compute stream waits for it on the device,
  // and the host must call upload_wait(ticket) before reusing `src`.
  virtual void* allocate_pinned(size_t bytes) = 0;
  virtual void free_pinned(void* p) noexcept = 0;
  virtual int upload_async(void* dst, const void* pinned_src, size_t bytes) = 0;
  virtual void upload_wait(int ticket) = 0;
};

class Device {
 public:
  constexpr Device() = default;  // the host
  constexpr explicit Device(DeviceMemory* m) : mem_(m) {}
  static constexpr Device cpu() { return Device(); }
  bool is_cpu() const { return mem_ == nullptr; }
  const char* name() const { return mem_ ? mem_->name() : "cpu"; }
  DeviceMemory* memory() const { return mem_; }
  bool operator==(const Device& o) const { return mem_ == o.mem_; }
  bool operator!=(const Device& o) const { return mem_ != o.mem_; }

 private:
  DeviceMemory* mem_ = nullptr;
};

// "cpu", "emu" or "cuda" (a lethe::Error for other names, and for cuda where none is usable).
// Defined with the backends (engine/backend/backend.cpp).
Device device_by_name(const std::string& name);

}  // namespace lethe
