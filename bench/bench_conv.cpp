// conv2d throughput on ResNet-50 layer shapes (CIFAR stem, 32×32 input, batch 32 — the shapes
// this engine trains here), forward / backward-data / backward-weight through the engine's op,
// on 1 and 2 threads; beside the same im2col + GEMM forward computed with OpenBLAS's SGEMM in
// the same run. Human table on stderr, one JSON line on stdout.
// Usage: bench_conv [batch] [group_columns] [winograd] [shapes] [threads]  (group_columns: the CPU
// conv's image grouping, engine/backend/cpu/conv.cpp, 0 = its default; winograd 0 turns
// F(2×2,3×3) off; shapes: resnet50 (default) or narrow — ResNet-18 width 16 on 1×28×28, the
// Fashion-MNIST protocol's model, use batch 128; threads: 1, 2 or 0 = both, the default).
// LETHE_BENCH_CLOCK=cpu: CPU time instead of wall time (see now()).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/openblas.h"
#include "engine/backend/backend.h"
#include "engine/backend/cpu/cpu.h"
#include "engine/ops/ops.h"
#include "kernels/cpu/im2col.h"

using namespace lethe;

namespace {

struct Shape4 {
  const char* name;
  int64_t C, HW, O, K, stride, pad;
};

// LETHE_BENCH_CLOCK=cpu times with the process's CPU clock instead of the wall clock: on a host
// whose cores are shared with other jobs a 1-thread run then measures its own work, not its share
// of a core (at 2 threads the CPU clock sums both threads: work, not wall time).
bool cpu_clock() {
  static const bool cpu = [] {
    const char* c = std::getenv("LETHE_BENCH_CLOCK");
    return c && std::string(c) == "cpu";
  }();
  return cpu;
}

double now() {
  if (cpu_clock()) {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class F>
double best_of(int reps, F f) {
  f();  // warm-up
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    double t0 = now();
    f();
    best = std::min(best, now() - t0);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t N = argc > 1 ? std::atoll(argv[1]) : 32;
  if (argc > 2) set_cpu_conv_group_columns(std::atoll(argv[2]));
  if (argc > 3) set_cpu_conv_winograd(std::atoll(argv[3]) != 0);
  bench::OpenBlas ob = bench::load_openblas();
  std::fprintf(stderr, "OpenBLAS: %s; conv group columns %lld, winograd %s; %s clock\n",
               ob.status.c_str(), static_cast<long long>(cpu_conv_group_columns()),
               cpu_conv_winograd() ? "on" : "off", cpu_clock() ? "process CPU" : "wall");
  // ResNet-50 (CIFAR stem) convolutions, one of each distinct shape.
  const std::vector<Shape4> narrow = {
      {"stem 3x3 1->16 @28", 1, 28, 16, 3, 1, 1},    {"l1 3x3 16->16 @28", 16, 28, 16, 3, 1, 1},
      {"l2 3x3 16->32 s2 @28", 16, 28, 32, 3, 2, 1}, {"l2 1x1 16->32 s2 @28", 16, 28, 32, 1, 2, 0},
      {"l2 3x3 32->32 @14", 32, 14, 32, 3, 1, 1},    {"l3 3x3 32->64 s2 @14", 32, 14, 64, 3, 2, 1},
      {"l3 1x1 32->64 s2 @14", 32, 14, 64, 1, 2, 0}, {"l3 3x3 64->64 @7", 64, 7, 64, 3, 1, 1},
      {"l4 3x3 64->128 s2 @7", 64, 7, 128, 3, 2, 1}, {"l4 1x1 64->128 s2 @7", 64, 7, 128, 1, 2, 0},
      {"l4 3x3 128->128 @4", 128, 4, 128, 3, 1, 1},
  };
  std::vector<Shape4> shapes = {
      {"stem 3x3 3->64 @32", 3, 32, 64, 3, 1, 1},
      {"l1 1x1 64->64 @32", 64, 32, 64, 1, 1, 0},
      {"l1 3x3 64->64 @32", 64, 32, 64, 3, 1, 1},
      {"l1 1x1 64->256 @32", 64, 32, 256, 1, 1, 0},
      {"l1 1x1 256->64 @32", 256, 32, 64, 1, 1, 0},
      {"l2 3x3 128 s2 @32", 128, 32, 128, 3, 2, 1},
      {"l2 3x3 128->128 @16", 128, 16, 128, 3, 1, 1},
      {"l2 1x1 512->128 @16", 512, 16, 128, 1, 1, 0},
      {"l3 3x3 256->256 @8", 256, 8, 256, 3, 1, 1},
      {"l3 1x1 1024->256 @8", 1024, 8, 256, 1, 1, 0},
      {"l4 3x3 512->512 @4", 512, 4, 512, 3, 1, 1},
      {"l4 1x1 2048->512 @4", 2048, 4, 512, 1, 1, 0},
  };
  if (argc > 4 && std::string(argv[4]) == "narrow") shapes = narrow;
  const int only_threads = argc > 5 ? std::atoi(argv[5]) : 0;
  nlohmann::json out = nlohmann::json::array();
  std::fprintf(stderr, "%-24s %3s %10s %10s %10s %12s\n", "layer (batch N)", "thr", "fwd GF/s",
               "bwd-d GF/s", "bwd-w GF/s", "OpenBLAS fwd");
  for (int threads : {1, 2}) {
    if (only_threads && threads != only_threads) continue;
    omp_set_num_threads(threads);
    if (ob.set_threads) ob.set_threads(threads);
    for (const Shape4& s : shapes) {
      int64_t OHW = (s.HW + 2 * s.pad - s.K) / s.stride + 1;
      double flops = 2.0 * N * s.O * OHW * OHW * s.C * s.K * s.K;
      Tensor x = Tensor::randn({N, s.C, s.HW, s.HW}, 1);
      Tensor w = Tensor::randn({s.O, s.C, s.K, s.K}, 2);
      Tensor y = Tensor::empty({N, s.O, OHW, OHW});
      Tensor dy = Tensor::randn(y.shape(), 3);
      Tensor dx = Tensor::empty(x.shape()), dw = Tensor::empty(w.shape()), db;
      Conv2dArgs a{s.stride, s.stride, s.pad, s.pad};
      Backend& be = backend_by_name("cpu");
      int reps = 5;
      double tf = best_of(reps, [&] { be.conv2d_forward(x, w, Tensor(), y, a); });
      double td = best_of(reps, [&] { be.conv2d_backward_input(dy, w, dx, a); });
      double tw = best_of(reps, [&] { be.conv2d_backward_weight(dy, x, dw, db, a); });
      double tob = 0;
      if (ob.sgemm) {
        // The same im2col + GEMM forward with OpenBLAS's SGEMM (one GEMM per image).
        kernels::ConvGeometry g{N,   s.C, s.HW,     s.HW,     s.O,   s.K,  s.K,
                                OHW, OHW, s.stride, s.stride, s.pad, s.pad};
        int64_t CKK = s.C * s.K * s.K;
        std::vector<float> cols(CKK * OHW * OHW);
        tob = best_of(reps, [&] {
          for (int64_t n = 0; n < N; ++n) {
            const float* xn = x.data<float>() + n * s.C * s.HW * s.HW;
            const float* b = xn;
            if (!(s.K == 1 && s.stride == 1)) {
              kernels::cpu::im2col(xn, cols.data(), g, OHW * OHW);
              b = cols.data();
            }
            ob.sgemm(bench::kCblasRowMajor, bench::kCblasNoTrans, bench::kCblasNoTrans,
                     static_cast<int>(s.O), static_cast<int>(OHW * OHW), static_cast<int>(CKK), 1.f,
                     w.data<float>(), static_cast<int>(CKK), b, static_cast<int>(OHW * OHW), 0.f,
                     y.data<float>() + n * s.O * OHW * OHW, static_cast<int>(OHW * OHW));
          }
        });
      }
      double gf = flops / 1e9;
      std::fprintf(stderr, "%-24s %3d %10.1f %10.1f %10.1f %12.1f\n", s.name, threads, gf / tf,
                   gf / td, gf / tw, tob > 0 ? gf / tob : 0.0);
      out.push_back({{"layer", s.name},
                     {"batch", N},
                     {"threads", threads},
                     {"fwd_gflops", gf / tf},
                     {"bwd_data_gflops", gf / td},
                     {"bwd_weight_gflops", gf / tw},
                     {"openblas_im2col_fwd_gflops", tob > 0 ? gf / tob : 0.0}});
    }
  }
  std::printf("%s\n", nlohmann::json{{"conv2d", out}}.dump().c_str());
  return 0;
}
