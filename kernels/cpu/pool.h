// 2-d pooling on float32 planes (P = N·C planes of H×W), CPU kernels; planes split over threads.
// Windows are kernels/common/pool_window.h (shared with cpu_ref and kernels/cuda/pool.cu): max
// pooling writes the argmax's flat index within the plane, average pooling counts the padding
// (PyTorch's count_include_pad), adaptive average pooling uses PyTorch's windows.
#pragma once
#include <cstdint>

#include "kernels/common/op_kinds.h"

namespace lethe::kernels::cpu {

void max_pool2d_forward(const float* x, float* y, int64_t* idx, int64_t P, int64_t H, int64_t W,
                        int64_t OH, int64_t OW, const Pool2dArgs& a);
// dx [P, H·W] is overwritten: zeroed, then each dy element added at its argmax (in order).
void max_pool2d_backward(const float* dy, const int64_t* idx, float* dx, int64_t P, int64_t HW,
                         int64_t OHW);
void avg_pool2d_forward(const float* x, float* y, int64_t P, int64_t H, int64_t W, int64_t OH,
                        int64_t OW, const Pool2dArgs& a);
void avg_pool2d_backward(const float* dy, float* dx, int64_t P, int64_t H, int64_t W, int64_t OH,
                         int64_t OW, const Pool2dArgs& a);
void adaptive_avg_pool2d_forward(const float* x, float* y, int64_t P, int64_t H, int64_t W,
                                 int64_t OH, int64_t OW);
void adaptive_avg_pool2d_backward(const float* dy, float* dx, int64_t P, int64_t H, int64_t W,
                                  int64_t OH, int64_t OW);

}  // namespace lethe::kernels::cpu
