// Tensor <-> safetensors: converts loaded entries to engine tensors (F16/BF16/F64 become f32,
// integer types become i64, U8 stays u8) and named tensors back to a file.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/tensor.h"
#include "engine/io/safetensors.h"

namespace lethe::io {

Tensor to_tensor(const StTensor& t, const std::string& name);
StTensor from_tensor(const Tensor& t);

struct NamedTensors {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

NamedTensors load_tensors(const std::string& path);
void save_tensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& ts,
                  const std::map<std::string, std::string>& metadata = {});

}  // namespace lethe::io
