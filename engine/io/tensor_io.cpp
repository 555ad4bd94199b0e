#include "engine/io/tensor_io.h"

#include <cstring>

namespace lethe::io {

Tensor to_tensor(const StTensor& t, const std::string& name) {
  switch (t.dtype) {
    case StDType::U8: {
      Tensor out = Tensor::empty(t.shape, DType::U8);
      if (!t.data.empty()) std::memcpy(out.raw(), t.data.data(), t.data.size());
      return out;
    }
    case StDType::I64:
    case StDType::I32:
    case StDType::I16:
    case StDType::I8:
    case StDType::BOOL:
      return Tensor::from_vector_i64(t.shape, to_i64(t, name));
    default:
      return Tensor::from_vector(t.shape, to_f32(t, name));
  }
}

StTensor from_tensor(const Tensor& t) {
  Tensor c = t.cpu();  // checkpoints of device-resident models: one download per tensor
  if (!c.is_contiguous()) c = c.clone();
  switch (c.dtype()) {
    case DType::F32:
      return from_f32(c.shape(), c.data<float>());
    case DType::F64: {
      std::vector<float> v = c.to_vector();
      return from_f32(c.shape(), v.data());
    }
    case DType::I64:
      return from_i64(c.shape(), c.data<int64_t>());
    case DType::U8:
      return from_u8(c.shape(), c.data<uint8_t>());
  }
  LETHE_FAIL("safetensors: unsupported dtype");
}

NamedTensors load_tensors(const std::string& path) {
  SafetensorsFile f = read_safetensors(path);
  NamedTensors out;
  out.metadata = f.metadata;
  for (auto& [name, t] : f.tensors) out.tensors.emplace(name, to_tensor(t, name));
  return out;
}

void save_tensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& ts,
                  const std::map<std::string, std::string>& metadata) {
  SafetensorsFile f;
  f.metadata = metadata;
  for (auto& [name, t] : ts) {
    LETHE_CHECK(!f.tensors.count(name), "safetensors '", path, "': duplicate tensor name '", name,
                "'");
    f.tensors.emplace(name, from_tensor(t));
  }
  write_safetensors(path, f);
}

}  // namespace lethe::io
