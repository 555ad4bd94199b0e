// safetensors read/write, independent of the Tensor class: tensors are kept as raw little-endian
// bytes plus dtype and shape, and converted to float / int64 on demand.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lethe::io {

enum class StDType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

// The dtype string used in the header ("F32", "BF16", "BOOL", ...).
const char* st_dtype_name(StDType);
// Bytes per element.
size_t st_dtype_size(StDType);

struct StTensor {
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;  // raw little-endian bytes, numel * dtype size
  int64_t numel() const;      // 1 for a scalar (empty shape)
};

struct SafetensorsFile {
  std::map<std::string, StTensor> tensors;      // sorted by name
  std::map<std::string, std::string> metadata;  // "__metadata__"
};

// Reads and fully validates a file; throws lethe::Error naming the file (and tensor) on any fault.
SafetensorsFile read_safetensors(const std::string& path);
// Same checks on an in-memory image; `what` names the source in error messages.
SafetensorsFile parse_safetensors(const uint8_t* bytes, size_t size, const std::string& what);

// Writes atomically: to path + ".tmp.<pid>", fsync, then rename; never leaves a half-written file
// at path (an existing file there is untouched on failure).
void write_safetensors(const std::string& path, const SafetensorsFile& file);
// Tensors in name order, data contiguous, header padded with spaces so the data start is a
// multiple of 8, "__metadata__" first in the header when non-empty.
std::vector<uint8_t> serialize_safetensors(const SafetensorsFile& file);

// Float dtypes (F32, F64, F16, BF16) to float, with exact half / bfloat16 decoding.
std::vector<float> to_f32(const StTensor& t, const std::string& name);
// Integer dtypes (I64, I32, I16, I8, U8, BOOL) to int64.
std::vector<int64_t> to_i64(const StTensor& t, const std::string& name);

StTensor from_f32(const std::vector<int64_t>& shape, const float* data);
StTensor from_i64(const std::vector<int64_t>& shape, const int64_t* data);
StTensor from_u8(const std::vector<int64_t>& shape, const uint8_t* data);

}  // namespace lethe::io
