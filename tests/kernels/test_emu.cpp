// The SIMT emulator itself: indices, barriers (and their faults), warp intrinsics, shared memory,
// atomics across parallel blocks, the fake runtime's checks and the fake cuBLAS contract. The
// kernels here are small CUDA texts written for these checks.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/compat.h"
#include "kernels/emu/cublas.h"

namespace lethe::kemu {
namespace {

__global__ void write_ids(int* out) {
  unsigned b = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  out[b * (blockDim.x * blockDim.y * blockDim.z) + t] = static_cast<int>(b * 10000 + t);
}

// Tree reduction in shared memory: correct only with both barriers in place.
__global__ void block_sum(const float* x, float* out, int n) {
  LETHE_DYNAMIC_SHARED(float, s);
  unsigned t = threadIdx.x;
  float acc = 0;
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + t); i < n;
       i += static_cast<int>(blockDim.x * gridDim.x))
    acc += x[i];
  s[t] = acc;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (t < half) s[t] += s[t + half];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

constexpr int kBarrierLineA = __LINE__ + 4;  // the two barriers below
constexpr int kBarrierLineB = __LINE__ + 5;
__global__ void divergent_barrier(int* out) {
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    __syncthreads();
  }
  out[threadIdx.x] = 1;
}

// Threads that returned early do not hold up a barrier (it counts live threads).
__global__ void early_exit_barrier(int* out, int live) {
  LETHE_SHARED(int, s, [64]);
  if (static_cast<int>(threadIdx.x) >= live) return;
  s[threadIdx.x] = static_cast<int>(threadIdx.x);
  __syncthreads();
  out[threadIdx.x] = s[live - 1 - static_cast<int>(threadIdx.x)];
}

__global__ void shuffle_deadlock(int* out) {
  if (threadIdx.x == 3) {
    __syncthreads();
  } else {
    out[threadIdx.x] = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x), 0);
  }
}

__global__ void warp_ops(int* out) {
  int lane = static_cast<int>(threadIdx.x & 31);
  int base = static_cast<int>(threadIdx.x) * 8;
  out[base + 0] = __shfl_sync(0xffffffffu, lane * 10, 5);
  out[base + 1] = __shfl_xor_sync(0xffffffffu, lane, 1);
  out[base + 2] = __shfl_down_sync(0xffffffffu, lane, 3);
  out[base + 3] = __shfl_up_sync(0xffffffffu, lane, 2);
  out[base + 4] = __shfl_down_sync(0xffffffffu, lane, 3, 8);  // width 8
  out[base + 5] = __shfl_xor_sync(0xffffffffu, lane, 16, 16);
  out[base + 6] = static_cast<int>(__ballot_sync(0xffffffffu, lane % 3 == 0));
  __syncwarp(0xffffffffu);
  float v = static_cast<float>(lane);
  for (int off = 16; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
  out[base + 7] = static_cast<int>(v);
}

__global__ void shared_is_nan(int* out) {
  LETHE_SHARED(float, s, [33]);
  LETHE_DYNAMIC_SHARED(float, d);
  out[threadIdx.x] = std::isnan(s[threadIdx.x]) && std::isnan(d[threadIdx.x]);
  __syncthreads();
  s[threadIdx.x] = 1.0f;  // the next block must see NaN again
  d[threadIdx.x] = 1.0f;
}

__global__ void atomics(float* f, int* i, int* mx, unsigned* cas_count) {
  atomicAdd(f, 0.5f);
  atomicAdd(i, 1);
  atomicMax(mx, static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x));
  unsigned old = *cas_count, assumed;
  do {
    assumed = old;
    old = atomicCAS(cas_count, assumed, assumed + 1);
  } while (old != assumed);
}

__global__ void overrun(float* p, int n) {
  p[n] = 1.0f;  // one element past the buffer
}

template <class T>
T* device_alloc(size_t n) {
  void* p = nullptr;
  REQUIRE(cudaMalloc(&p, n * sizeof(T)) == cudaSuccess);
  return static_cast<T*>(p);
}
template <class T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> h(n);
  REQUIRE(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
  return h;
}

const ScheduleChoice kSchedules[] = {
    {Schedule::InOrder, 0}, {Schedule::Reverse, 0}, {Schedule::Random, 7}};

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("emu: thread and block indices cover a 3-d grid exactly once") {
    dim3 grid(3, 2, 2), block(5, 3, 2);
    int n = 12 * 30;
    int* d = device_alloc<int>(n);
    LETHE_LAUNCH(write_ids, grid, block, 0, nullptr, d);
    auto h = to_host(d, n);
    for (int b = 0; b < 12; ++b)
      for (int t = 0; t < 30; ++t) CHECK(h[b * 30 + t] == b * 10000 + t);
    CHECK(cudaFree(d) == cudaSuccess);
  }

  TEST_CASE("emu: a shared-memory reduction is exact at every block size and schedule") {
    int n = 5000;
    std::vector<float> x(n);
    double want = 0;
    for (int i = 0; i < n; ++i) want += x[i] = static_cast<float>(i % 7);  // small integers: exact
    float* dx = device_alloc<float>(n);
    REQUIRE(cudaMemcpy(dx, x.data(), n * 4, cudaMemcpyHostToDevice) == cudaSuccess);
    for (auto sched : kSchedules) {
      ScheduleGuard g(sched);
      for (unsigned bs : {32u, 64u, 128u, 256u, 512u, 1024u}) {
        int blocks = 3;
        float* dout = device_alloc<float>(blocks);
        LETHE_LAUNCH(block_sum, blocks, bs, bs * sizeof(float), nullptr, dx, dout, n);
        auto h = to_host(dout, blocks);
        CHECK_MESSAGE(h[0] + h[1] + h[2] == doctest::Approx(want), schedule_name(sched), " block ",
                      bs);
        CHECK(cudaFree(dout) == cudaSuccess);
      }
    }
    CHECK(cudaFree(dx) == cudaSuccess);
  }

  TEST_CASE("emu: threads at different __syncthreads are reported with both sites") {
    int* d = device_alloc<int>(32);
    std::string msg;
    try {
      LETHE_LAUNCH(divergent_barrier, 1, 32, 0, nullptr, d);
    } catch (const KernelFault& e) {
      msg = e.what();
    }
    CHECK(msg.find("different __syncthreads") != std::string::npos);
    CHECK(msg.find("test_emu.cpp:" + std::to_string(kBarrierLineA)) != std::string::npos);
    CHECK(msg.find("test_emu.cpp:" + std::to_string(kBarrierLineB)) != std::string::npos);
    CHECK(msg.find("threads 0-15") != std::string::npos);
    CHECK(msg.find("divergent_barrier") != std::string::npos);
    CHECK(cudaFree(d) == cudaSuccess);
  }

  TEST_CASE("emu: __syncthreads counts only live threads") {
    int* d = device_alloc<int>(64);
    for (auto sched : kSchedules) {
      ScheduleGuard g(sched);
      LETHE_LAUNCH(early_exit_barrier, 1, 64, 0, nullptr, d, 40);
      auto h = to_host(d, 40);
      for (int t = 0; t < 40; ++t) CHECK(h[t] == 39 - t);
    }
    CHECK(cudaFree(d) == cudaSuccess);
  }

  TEST_CASE("emu: a lane held at a block barrier while its warp shuffles is a deadlock") {
    int* d = device_alloc<int>(32);
    std::string msg;
    try {
      LETHE_LAUNCH(shuffle_deadlock, 1, 32, 0, nullptr, d);
    } catch (const KernelFault& e) {
      msg = e.what();
    }
    CHECK(msg.find("deadlock") != std::string::npos);
    CHECK(msg.find("__syncthreads at") != std::string::npos);
    CHECK(msg.find("warp intrinsic") != std::string::npos);
    CHECK(cudaFree(d) == cudaSuccess);
  }

  TEST_CASE("emu: warp shuffles, widths and ballot follow the CUDA definitions") {
    int threads = 64;
    int* d = device_alloc<int>(threads * 8);
    for (auto sched : kSchedules) {
      ScheduleGuard g(sched);
      LETHE_LAUNCH(warp_ops, 1, threads, 0, nullptr, d);
      auto h = to_host(d, threads * 8);
      unsigned ballot = 0;
      for (int l = 0; l < 32; ++l)
        if (l % 3 == 0) ballot |= 1u << l;
      for (int t = 0; t < threads; ++t) {
        int lane = t & 31;
        const int* o = &h[t * 8];
        CHECK(o[0] == 50);
        CHECK(o[1] == (lane ^ 1));
        CHECK(o[2] == (lane + 3 < 32 ? lane + 3 : lane));
        CHECK(o[3] == (lane >= 2 ? lane - 2 : lane));
        CHECK(o[4] == ((lane % 8) + 3 < 8 ? lane + 3 : lane));
        CHECK(o[5] == (lane < 16 ? lane : lane ^ 16));  // a later segment returns the own value
        CHECK(static_cast<unsigned>(o[6]) == ballot);
        CHECK(o[7] == 496);  // 0 + 1 + ... + 31
      }
    }
    CHECK(cudaFree(d) == cudaSuccess);
  }

  TEST_CASE("emu: shared memory is NaN at the start of every block") {
    int* d = device_alloc<int>(33 * 4);
    for (int b = 0; b < 4; ++b) {
      LETHE_LAUNCH(shared_is_nan, 1, 33, 33 * sizeof(float), nullptr, d + b * 33);
      auto h = to_host(d + b * 33, 33);
      for (int t = 0; t < 33; ++t) CHECK(h[t] == 1);
    }
    CHECK(cudaFree(d) == cudaSuccess);
  }

  TEST_CASE("emu: atomics are exact across blocks running in parallel") {
    float* f = device_alloc<float>(1);
    int* i = device_alloc<int>(2);
    unsigned* c = device_alloc<unsigned>(1);
    REQUIRE(cudaMemset(f, 0, 4) == cudaSuccess);
    REQUIRE(cudaMemset(i, 0, 8) == cudaSuccess);
    REQUIRE(cudaMemset(c, 0, 4) == cudaSuccess);
    LETHE_LAUNCH(atomics, 64, 96, 0, nullptr, f, i, i + 1, c);
    CHECK(to_host(f, 1)[0] == 64 * 96 * 0.5f);
    auto ih = to_host(i, 2);
    CHECK(ih[0] == 64 * 96);
    CHECK(ih[1] == 64 * 96 - 1);
    CHECK(to_host(c, 1)[0] == 64u * 96u);
    CHECK(cudaFree(f) == cudaSuccess);
    CHECK(cudaFree(i) == cudaSuccess);
    CHECK(cudaFree(c) == cudaSuccess);
  }

  TEST_CASE("emu: bad launch shapes and schedules are refused with the kernel named") {
    // As on a GPU, the launch sets the last error (invalid configuration) that LETHE_LAUNCH's
    // cudaGetLastError() reports (tests/kernels/test_launch_limits.cpp checks the rest).
    int* d = device_alloc<int>(1);
    CHECK_THROWS_WITH_AS(LETHE_LAUNCH(write_ids, 1, 1025, 0, nullptr, d),
                         doctest::Contains("write_ids"), std::runtime_error);
    CHECK_THROWS_WITH_AS(LETHE_LAUNCH(write_ids, dim3(1, 70000), 32, 0, nullptr, d),
                         doctest::Contains("invalid configuration argument"), std::runtime_error);
    CHECK(cudaFree(d) == cudaSuccess);
    void* host = &d;
    CHECK(cudaMemcpy(host, host, 4, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);
    CHECK(cudaGetLastError() == cudaErrorInvalidValue);  // cleared for the next launch
  }

  TEST_CASE("emu: the fake cuBLAS computes the column-major sgemm contract") {
    int m = 5, n = 3, k = 4, batch = 2;
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-1, 1);
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb) {
        int lda = (ta ? k : m) + 1, ldb = (tb ? n : k) + 2, ldc = m + 1;
        int sa = lda * (ta ? m : k), sb = ldb * (tb ? k : n), sc = ldc * n;
        std::vector<float> A(sa * batch), B(sb * batch), C(sc * batch);
        for (auto* v : {&A, &B, &C})
          for (float& x : *v) x = u(rng);
        std::vector<float> C0 = C;
        cublasHandle_t h;
        REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
        float alpha = 1.5f, beta = -0.5f;
        REQUIRE(cublasSgemmStridedBatched(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                                          tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k, &alpha, A.data(),
                                          lda, sa, B.data(), ldb, sb, &beta, C.data(), ldc, sc,
                                          batch) == CUBLAS_STATUS_SUCCESS);
        for (int bt = 0; bt < batch; ++bt)
          for (int i = 0; i < m; ++i)
            for (int j = 0; j < n; ++j) {
              double acc = 0;
              for (int p = 0; p < k; ++p) {
                double a = ta ? A[bt * sa + p + i * lda] : A[bt * sa + i + p * lda];
                double b = tb ? B[bt * sb + j + p * ldb] : B[bt * sb + p + j * ldb];
                acc += a * b;
              }
              CHECK(C[bt * sc + i + j * ldc] ==
                    doctest::Approx(alpha * acc + beta * C0[bt * sc + i + j * ldc]));
            }
        CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &alpha, A.data(), m - 1, B.data(),
                          k, &beta, C.data(), m) == CUBLAS_STATUS_INVALID_VALUE);
        CHECK(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
      }
  }

  TEST_CASE(
      "emu: LETHE_EMU_SCHEDULE selects the schedule; a guard overrides it; bad values are "
      "refused") {
    const char* old = std::getenv("LETHE_EMU_SCHEDULE");
    std::string saved = old ? old : "";
    setenv("LETHE_EMU_SCHEDULE", "reverse", 1);
    CHECK(current_schedule().kind == Schedule::Reverse);
    setenv("LETHE_EMU_SCHEDULE", "random:42", 1);
    CHECK(current_schedule().kind == Schedule::Random);
    CHECK(current_schedule().seed == 42);
    {
      ScheduleGuard g({Schedule::InOrder, 0});
      CHECK(current_schedule().kind == Schedule::InOrder);
    }
    setenv("LETHE_EMU_SCHEDULE", "sideways", 1);
    CHECK_THROWS_WITH_AS(current_schedule(), doctest::Contains("LETHE_EMU_SCHEDULE"), KernelFault);
    if (old)
      setenv("LETHE_EMU_SCHEDULE", saved.c_str(), 1);
    else
      unsetenv("LETHE_EMU_SCHEDULE");
  }

  TEST_CASE("emu: bf16 rounds to nearest even") {
    CHECK(__bfloat162float(__float2bfloat16(1.0f)) == 1.0f);
    CHECK(__bfloat162float(__float2bfloat16(1.00390625f)) == 1.0f);       // halfway: to even
    CHECK(__bfloat162float(__float2bfloat16(1.01171875f)) == 1.015625f);  // halfway: to even (up)
    CHECK(std::isnan(__bfloat162float(__float2bfloat16(NAN))));
  }

#if !defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer the same write is a heap-buffer-overflow report (tests/kernels/proof).
  TEST_CASE("emu: a kernel writing past its buffer is reported by cudaFree") {
    float* d = device_alloc<float>(10);
    LETHE_LAUNCH(overrun, 1, 1, 0, nullptr, d, 10);
    cudaError_t e = cudaFree(d);
    CHECK(e == cudaErrorLaunchFailure);
    CHECK(std::string(cudaGetErrorString(e)).find("outside a device buffer") != std::string::npos);
    CHECK(cudaGetLastError() == cudaErrorLaunchFailure);  // cleared for the next launch
  }
#endif
}

}  // namespace lethe::kemu
