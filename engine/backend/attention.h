// The geometry every attention implementation derives from its packed qkv [B,N,3C] (backend.h's
// attention_forward/backward): shared by the composed default and the fused cpu loop.
#pragma once
#include <cstdint>

#include "engine/core/tensor.h"

namespace lethe {

struct AttentionShape {
  int64_t B, N, C, H, D;  // batch, tokens, model width, heads, head width (C = H·D)
};

inline AttentionShape attention_shape(const Tensor& qkv, int64_t heads) {
  const int64_t C = qkv.size(2) / 3;
  return {qkv.size(0), qkv.size(1), C, heads, C / heads};
}

}  // namespace lethe
