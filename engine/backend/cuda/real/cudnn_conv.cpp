#include "engine/backend/cuda/real/cudnn_conv.h"

#include <cuda_runtime.h>

#include <mutex>
#include <string>

#include "engine/backend/cuda/device_backend.h"
#include "engine/core/error.h"

namespace lethe::kcuda {

void cudnn_check(cudnnStatus_t s, const char* call) {
  LETHE_CHECK(s == CUDNN_STATUS_SUCCESS, "cuda backend: ", call, ": ", cudnnGetErrorString(s));
}

namespace {
int narrow(int64_t v, const char* what) {
  LETHE_CHECK(v >= 0 && v <= INT32_MAX, "cuda backend: cuDNN ", what, " ", v,
              " does not fit in int");
  return static_cast<int>(v);
}

cudnnHandle_t handle() {
  static std::once_flag once;
  static cudnnHandle_t h = nullptr;
  std::call_once(once, [] {
    cudnn_check(cudnnCreate(&h), "cudnnCreate");
    cudnn_check(cudnnSetStream(h, backend_stream()), "cudnnSetStream");
  });
  return h;
}

}  // namespace

ConvDescriptors::ConvDescriptors(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh,
                                 int64_t kw, const Conv2dArgs& a) {
  cudnn_check(cudnnCreateTensorDescriptor(&x_), "cudnnCreateTensorDescriptor");
  cudnn_check(cudnnCreateTensorDescriptor(&y_), "cudnnCreateTensorDescriptor");
  cudnn_check(cudnnCreateTensorDescriptor(&bias_), "cudnnCreateTensorDescriptor");
  cudnn_check(cudnnCreateFilterDescriptor(&w_), "cudnnCreateFilterDescriptor");
  cudnn_check(cudnnCreateConvolutionDescriptor(&conv_), "cudnnCreateConvolutionDescriptor");
  cudnn_check(
      cudnnSetTensor4dDescriptor(x_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, narrow(n, "batch"),
                                 narrow(c, "channels"), narrow(h, "height"), narrow(w, "width")),
      "cudnnSetTensor4dDescriptor(x)");
  cudnn_check(cudnnSetFilter4dDescriptor(w_, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                         narrow(o, "out channels"), narrow(c, "channels"),
                                         narrow(kh, "kernel height"), narrow(kw, "kernel width")),
              "cudnnSetFilter4dDescriptor");
  // Lethe's conv2d is cross-correlation (as PyTorch's), no dilation.
  cudnn_check(
      cudnnSetConvolution2dDescriptor(conv_, narrow(a.pad_h, "pad"), narrow(a.pad_w, "pad"),
                                      narrow(a.stride_h, "stride"), narrow(a.stride_w, "stride"), 1,
                                      1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
      "cudnnSetConvolution2dDescriptor");
  cudnn_check(
      cudnnGetConvolution2dForwardOutputDim(conv_, x_, w_, &out_[0], &out_[1], &out_[2], &out_[3]),
      "cudnnGetConvolution2dForwardOutputDim");
  cudnn_check(cudnnSetTensor4dDescriptor(y_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, out_[0], out_[1],
                                         out_[2], out_[3]),
              "cudnnSetTensor4dDescriptor(y)");
  cudnn_check(
      cudnnSetTensor4dDescriptor(bias_, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, out_[1], 1, 1),
      "cudnnSetTensor4dDescriptor(bias)");
}

ConvDescriptors::~ConvDescriptors() {
  cudnnDestroyTensorDescriptor(x_);
  cudnnDestroyTensorDescriptor(y_);
  cudnnDestroyTensorDescriptor(bias_);
  cudnnDestroyFilterDescriptor(w_);
  cudnnDestroyConvolutionDescriptor(conv_);
}

void cudnn_conv_forward(const ConvDescriptors& d, const float* x, const float* w, const float* bias,
                        float* y) {
  cudnnHandle_t h = handle();
  cudnnConvolutionFwdAlgoPerf_t perf[8];
  int got = 0;
  cudnn_check(
      cudnnGetConvolutionForwardAlgorithm_v7(h, d.x(), d.w(), d.conv(), d.y(), 8, &got, perf),
      "cudnnGetConvolutionForwardAlgorithm_v7");
  LETHE_CHECK(got > 0, "cuda backend: cuDNN offers no forward convolution algorithm");
  size_t ws = 0;
  cudnn_check(
      cudnnGetConvolutionForwardWorkspaceSize(h, d.x(), d.w(), d.conv(), d.y(), perf[0].algo, &ws),
      "cudnnGetConvolutionForwardWorkspaceSize");
  DeviceBuffer work(ws);  // the workspace of the heuristics' first algorithm
  const float one = 1.0f, zero = 0.0f;
  cudnn_check(cudnnConvolutionForward(h, &one, d.x(), x, d.w(), w, d.conv(), perf[0].algo,
                                      work.get(), ws, &zero, d.y(), y),
              "cudnnConvolutionForward");
  if (bias) cudnn_check(cudnnAddTensor(h, &one, d.bias(), bias, &one, d.y(), y), "cudnnAddTensor");
}

void cudnn_conv_backward_data(const ConvDescriptors& d, const float* dy, const float* w,
                              float* dx) {
  cudnnHandle_t h = handle();
  cudnnConvolutionBwdDataAlgoPerf_t perf[8];
  int got = 0;
  cudnn_check(
      cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w(), d.y(), d.conv(), d.x(), 8, &got, perf),
      "cudnnGetConvolutionBackwardDataAlgorithm_v7");
  LETHE_CHECK(got > 0, "cuda backend: cuDNN offers no backward-data algorithm");
  size_t ws = 0;
  cudnn_check(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w(), d.y(), d.conv(), d.x(),
                                                           perf[0].algo, &ws),
              "cudnnGetConvolutionBackwardDataWorkspaceSize");
  DeviceBuffer work(ws);  // the workspace of the heuristics' first algorithm
  const float one = 1.0f, zero = 0.0f;
  cudnn_check(cudnnConvolutionBackwardData(h, &one, d.w(), w, d.y(), dy, d.conv(), perf[0].algo,
                                           work.get(), ws, &zero, d.x(), dx),
              "cudnnConvolutionBackwardData");
}

void cudnn_conv_backward_filter(const ConvDescriptors& d, const float* dy, const float* x,
                                float* dw, float* db) {
  cudnnHandle_t h = handle();
  cudnnConvolutionBwdFilterAlgoPerf_t perf[8];
  int got = 0;
  cudnn_check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x(), d.y(), d.conv(), d.w(), 8,
                                                            &got, perf),
              "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
  LETHE_CHECK(got > 0, "cuda backend: cuDNN offers no backward-filter algorithm");
  size_t ws = 0;
  cudnn_check(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x(), d.y(), d.conv(), d.w(),
                                                             perf[0].algo, &ws),
              "cudnnGetConvolutionBackwardFilterWorkspaceSize");
  DeviceBuffer work(ws);  // the workspace of the heuristics' first algorithm
  const float one = 1.0f, zero = 0.0f;
  cudnn_check(cudnnConvolutionBackwardFilter(h, &one, d.x(), x, d.y(), dy, d.conv(), perf[0].algo,
                                             work.get(), ws, &zero, d.w(), dw),
              "cudnnConvolutionBackwardFilter");
  if (db)
    cudnn_check(cudnnConvolutionBackwardBias(h, &one, d.y(), dy, &zero, d.bias(), db),
                "cudnnConvolutionBackwardBias");
}

}  // namespace lethe::kcuda
