#include "engine/backend/cuda/real/cudnn_conv.h"

#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/backend/cuda/device_backend.h"
#include "engine/backend/device_options.h"
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
  // float32 stays float32 unless --tf32 on: CUDNN_FMA_MATH excludes tensor-core (TF32) kernels,
  // CUDNN_DEFAULT_MATH permits them on Ampere and later.
  cudnn_check(cudnnSetConvolutionMathType(
                  conv_, device_options().tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH),
              "cudnnSetConvolutionMathType");
  key_ = "x[" + std::to_string(n) + "," + std::to_string(c) + "," + std::to_string(h) + "," +
         std::to_string(w) + "] w[" + std::to_string(o) + "," + std::to_string(c) + "," +
         std::to_string(kh) + "," + std::to_string(kw) + "] stride " + std::to_string(a.stride_h) +
         "," + std::to_string(a.stride_w) + " pad " + std::to_string(a.pad_h) + "," +
         std::to_string(a.pad_w);
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

namespace {

// Algorithm choice: cuDNN's heuristics list (best first) filtered by choose_algo
// (engine/backend/device_options.h: succeeded, within the workspace cap, deterministic when
// --deterministic, no tensor-op math unless --tf32 on), cached per shape, direction and options.
struct Chosen {
  int algo = -1;
  size_t workspace = 0;
};

template <class Perf>
std::vector<AlgoCandidate> candidates(const Perf* perf, int got) {
  std::vector<AlgoCandidate> c(static_cast<size_t>(got));
  for (int i = 0; i < got; ++i) {
    c[i].algo = static_cast<int>(perf[i].algo);
    c[i].ok = perf[i].status == CUDNN_STATUS_SUCCESS;
    c[i].memory = perf[i].memory;
    c[i].deterministic = perf[i].determinism == CUDNN_DETERMINISTIC;
    c[i].tensor_op = perf[i].mathType == CUDNN_TENSOR_OP_MATH ||
                     perf[i].mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
  }
  return c;
}

// `query(perf, max, &got)` runs the direction's heuristics; `workspace(algo, &bytes)` its
// workspace query. Throws naming the direction when no algorithm qualifies.
template <class Perf, class Query, class Workspace>
Chosen choose(const ConvDescriptors& d, const char* direction, Query query, Workspace workspace) {
  static std::mutex m;
  static std::map<std::string, Chosen> cache;
  const DeviceOptions& o = device_options();
  const std::string key = d.key() + "/" + to_json(o).dump();
  std::lock_guard<std::mutex> g(m);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  Perf perf[16];
  int got = 0;
  query(perf, 16, &got);
  const std::vector<AlgoCandidate> c = candidates(perf, got);
  Chosen ch;
  ch.algo = choose_algo(c.data(), got, o);
  LETHE_CHECK(ch.algo >= 0, "cuda backend: cuDNN offers no ", direction, " algorithm for conv ",
              d.key(), " under ", to_json(o).dump(),
              " (try --tf32 on, without --deterministic, or --kernels own)");
  workspace(ch.algo, &ch.workspace);
  cache[key] = ch;
  return ch;
}

}  // namespace

void cudnn_conv_forward(const ConvDescriptors& d, const float* x, const float* w, const float* bias,
                        float* y) {
  cudnnHandle_t h = handle();
  using Algo = cudnnConvolutionFwdAlgo_t;
  const Chosen c = choose<cudnnConvolutionFwdAlgoPerf_t>(
      d, "forward",
      [&](cudnnConvolutionFwdAlgoPerf_t* p, int n, int* got) {
        cudnn_check(
            cudnnGetConvolutionForwardAlgorithm_v7(h, d.x(), d.w(), d.conv(), d.y(), n, got, p),
            "cudnnGetConvolutionForwardAlgorithm_v7");
      },
      [&](int algo, size_t* ws) {
        cudnn_check(cudnnGetConvolutionForwardWorkspaceSize(h, d.x(), d.w(), d.conv(), d.y(),
                                                            static_cast<Algo>(algo), ws),
                    "cudnnGetConvolutionForwardWorkspaceSize");
      });
  DeviceBuffer work(c.workspace);
  const float one = 1.0f, zero = 0.0f;
  cudnn_check(
      cudnnConvolutionForward(h, &one, d.x(), x, d.w(), w, d.conv(), static_cast<Algo>(c.algo),
                              work.get(), c.workspace, &zero, d.y(), y),
      "cudnnConvolutionForward");
  if (bias) cudnn_check(cudnnAddTensor(h, &one, d.bias(), bias, &one, d.y(), y), "cudnnAddTensor");
}

void cudnn_conv_backward_data(const ConvDescriptors& d, const float* dy, const float* w,
                              float* dx) {
  cudnnHandle_t h = handle();
  using Algo = cudnnConvolutionBwdDataAlgo_t;
  const Chosen c = choose<cudnnConvolutionBwdDataAlgoPerf_t>(
      d, "backward-data",
      [&](cudnnConvolutionBwdDataAlgoPerf_t* p, int n, int* got) {
        cudnn_check(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w(), d.y(), d.conv(), d.x(), n,
                                                                got, p),
                    "cudnnGetConvolutionBackwardDataAlgorithm_v7");
      },
      [&](int algo, size_t* ws) {
        cudnn_check(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w(), d.y(), d.conv(), d.x(),
                                                                 static_cast<Algo>(algo), ws),
                    "cudnnGetConvolutionBackwardDataWorkspaceSize");
      });
  DeviceBuffer work(c.workspace);
  const float one = 1.0f, zero = 0.0f;
  cudnn_check(cudnnConvolutionBackwardData(h, &one, d.w(), w, d.y(), dy, d.conv(),
                                           static_cast<Algo>(c.algo), work.get(), c.workspace,
                                           &zero, d.x(), dx),
              "cudnnConvolutionBackwardData");
}

void cudnn_conv_backward_filter(const ConvDescriptors& d, const float* dy, const float* x,
                                float* dw, float* db) {
  cudnnHandle_t h = handle();
  using Algo = cudnnConvolutionBwdFilterAlgo_t;
  const Chosen c = choose<cudnnConvolutionBwdFilterAlgoPerf_t>(
      d, "backward-filter",
      [&](cudnnConvolutionBwdFilterAlgoPerf_t* p, int n, int* got) {
        cudnn_check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x(), d.y(), d.conv(), d.w(),
                                                                  n, got, p),
                    "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
      },
      [&](int algo, size_t* ws) {
        cudnn_check(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x(), d.y(), d.conv(), d.w(),
                                                                   static_cast<Algo>(algo), ws),
                    "cudnnGetConvolutionBackwardFilterWorkspaceSize");
      });
  DeviceBuffer work(c.workspace);
  const float one = 1.0f, zero = 0.0f;
  cudnn_check(cudnnConvolutionBackwardFilter(h, &one, d.x(), x, d.y(), dy, d.conv(),
                                             static_cast<Algo>(c.algo), work.get(), c.workspace,
                                             &zero, d.w(), dw),
              "cudnnConvolutionBackwardFilter");
  if (db)
    cudnn_check(cudnnConvolutionBackwardBias(h, &one, d.y(), dy, &zero, d.bias(), db),
                "cudnnConvolutionBackwardBias");
}

}  // namespace lethe::kcuda
