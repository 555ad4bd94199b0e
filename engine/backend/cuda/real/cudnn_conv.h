// The cuDNN fast path for conv2d (real CUDA builds only). Descriptors are RAII objects built from
// Lethe's shapes and Conv2dArgs; the output-shape logic is cuDNN's own
// (cudnnGetConvolution2dForwardOutputDim), which works without a device and is unit-tested
// against Lethe's conv output shape. The three convolution calls need a device and a handle.
// Uses cuDNN's legacy convolution API (deprecated in cuDNN 9 in favour of the graph API, still
// shipped): it maps one-to-one onto the three backend entry points.
#pragma once
#include <cudnn.h>

#include <array>
#include <cstdint>
#include <string>

#include "engine/backend/backend.h"

namespace lethe::kcuda {

// One line naming the call and cuDNN's status string.
void cudnn_check(cudnnStatus_t s, const char* call);

class ConvDescriptors {
 public:
  // x [n,c,h,w], w [o,c,kh,kw].
  ConvDescriptors(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                  const Conv2dArgs& a);
  ~ConvDescriptors();
  ConvDescriptors(const ConvDescriptors&) = delete;
  ConvDescriptors& operator=(const ConvDescriptors&) = delete;
  // [n, o, oh, ow] as cuDNN computes it.
  std::array<int, 4> output_dims() const { return out_; }
  cudnnTensorDescriptor_t x() const { return x_; }
  cudnnTensorDescriptor_t y() const { return y_; }
  cudnnFilterDescriptor_t w() const { return w_; }
  cudnnConvolutionDescriptor_t conv() const { return conv_; }
  cudnnTensorDescriptor_t bias() const { return bias_; }
  // "x[n,c,h,w] w[o,c,kh,kw] stride sh,sw pad ph,pw": the algorithm cache's key and error text.
  const std::string& key() const { return key_; }

 private:
  cudnnTensorDescriptor_t x_ = nullptr, y_ = nullptr, bias_ = nullptr;
  cudnnFilterDescriptor_t w_ = nullptr;
  cudnnConvolutionDescriptor_t conv_ = nullptr;
  std::array<int, 4> out_{};
  std::string key_;
};

// Device pointers; y/dx/dw are overwritten, db (may be null) too. Throw when no device. The
// algorithm is cuDNN's best-ranked one that device_options() admits (--tf32, --deterministic,
// the workspace cap), chosen once per shape and cached.
void cudnn_conv_forward(const ConvDescriptors& d, const float* x, const float* w, const float* bias,
                        float* y);
void cudnn_conv_backward_data(const ConvDescriptors& d, const float* dy, const float* w, float* dx);
void cudnn_conv_backward_filter(const ConvDescriptors& d, const float* dy, const float* x,
                                float* dw, float* db);

}  // namespace lethe::kcuda
