// SGEMM throughput of lethe next to OpenBLAS, square row-major C = A·B, 1 and 2 threads.
// OpenBLAS is loaded at run time with dlopen so the engine never links it; when it is missing,
// lethe is reported alone. The two libraries alternate repetitions so that background load hits
// both alike. Human table on stderr, one JSON line on stdout.
// Usage: bench_gemm [--isa=scalar|avx2|avx512] [n ...]   (default n: 256 512 1024 1536 2048 3072)
#include <dlfcn.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "bench/openblas.h"
#include "kernels/cpu/gemm.h"

namespace {

using lethe::bench::kCblasNoTrans;
using lethe::bench::kCblasRowMajor;
using lethe::bench::load_openblas;
using lethe::bench::OpenBlas;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Stats {
  double best = 0, median = 0;  // GFLOP/s
};

Stats summarise(std::vector<double>& secs, double flops) {
  Stats s;
  if (secs.empty()) return s;
  std::sort(secs.begin(), secs.end());
  s.best = flops / secs.front() * 1e-9;
  s.median = flops / secs[secs.size() / 2] * 1e-9;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  namespace cpu = lethe::kernels::cpu;
  std::vector<int> sizes = {256, 512, 1024, 1536, 2048, 3072};
  std::vector<int> args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--isa=", 0) == 0) {
      const std::string name = arg.substr(6);
      bool found = false;
      for (auto isa : {cpu::GemmIsa::Scalar, cpu::GemmIsa::Avx2, cpu::GemmIsa::Avx512}) {
        if (name == cpu::gemm_isa_name(isa)) {
          cpu::set_gemm_isa(isa);  // throws std::runtime_error if this CPU lacks it
          found = true;
        }
      }
      if (!found) {
        std::fprintf(stderr, "bench_gemm: unknown --isa '%s'\n", name.c_str());
        return 2;
      }
    } else {
      args.push_back(std::atoi(arg.c_str()));
    }
  }
  if (!args.empty()) sizes = args;
  const OpenBlas ob = load_openblas();
  std::fprintf(stderr, "lethe sgemm isa=%s; OpenBLAS: %s\n", cpu::gemm_isa_name(cpu::gemm_isa()),
               ob.status.c_str());
  std::fprintf(stderr, "%6s %3s | %17s | %17s | %6s | %s\n", "n", "thr", "lethe best/median",
               "openblas best/med", "ratio", "max rel diff");

  std::string json = "{\"gemm\":[";
  bool first = true;
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const int n : sizes) {
    const size_t nn = static_cast<size_t>(n) * n;
    std::vector<float> a(nn), b(nn), c1(nn, 0.0f), c2(nn, 0.0f);
    for (auto& v : a) v = dist(rng);
    for (auto& v : b) v = dist(rng);
    const double flops = 2.0 * n * n * n;
    for (const int threads : {1, 2}) {
      omp_set_num_threads(threads);
      if (ob.set_threads) ob.set_threads(threads);
      auto run_lethe = [&] {
        cpu::sgemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c1.data(), n);
      };
      auto run_ob = [&] {
        ob.sgemm(kCblasRowMajor, kCblasNoTrans, kCblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(),
                 n, 0.0f, c2.data(), n);
      };
      run_lethe();  // warm-up: page in buffers, spin up the thread pool
      if (ob.sgemm) run_ob();
      std::vector<double> t_lethe, t_ob;
      const auto start = std::chrono::steady_clock::now();
      // At least 5 repetitions and ~1 s per configuration, at most 200.
      while (t_lethe.size() < 200 && (t_lethe.size() < 5 || seconds_since(start) < 1.0)) {
        auto t0 = std::chrono::steady_clock::now();
        run_lethe();
        t_lethe.push_back(seconds_since(t0));
        if (ob.sgemm) {
          t0 = std::chrono::steady_clock::now();
          run_ob();
          t_ob.push_back(seconds_since(t0));
        }
      }
      const Stats sl = summarise(t_lethe, flops);
      const Stats so = summarise(t_ob, flops);
      double max_rel = 0.0;
      if (ob.sgemm) {
        for (size_t i = 0; i < nn; ++i) {
          max_rel = std::max<double>(max_rel, std::fabs(c1[i] - c2[i]) / (1.0 + std::fabs(c2[i])));
        }
        std::fprintf(stderr, "%6d %3d | %7.1f / %7.1f | %7.1f / %7.1f | %5.1f%% | %.2e\n", n,
                     threads, sl.best, sl.median, so.best, so.median, 100.0 * sl.best / so.best,
                     max_rel);
      } else {
        std::fprintf(stderr, "%6d %3d | %7.1f / %7.1f | %17s | %6s |\n", n, threads, sl.best,
                     sl.median, "n/a", "n/a");
      }
      char buf[256];
      if (ob.sgemm) {
        std::snprintf(buf, sizeof buf,
                      "%s{\"n\":%d,\"threads\":%d,\"lethe_gflops\":%.2f,\"lethe_median_gflops\":"
                      "%.2f,\"openblas_gflops\":%.2f,\"openblas_median_gflops\":%.2f}",
                      first ? "" : ",", n, threads, sl.best, sl.median, so.best, so.median);
      } else {
        std::snprintf(buf, sizeof buf,
                      "%s{\"n\":%d,\"threads\":%d,\"lethe_gflops\":%.2f,\"lethe_median_gflops\":"
                      "%.2f,\"openblas_gflops\":null}",
                      first ? "" : ",", n, threads, sl.best, sl.median);
      }
      json += buf;
      first = false;
    }
  }
  json += "]}";
  std::printf("%s\n", json.c_str());
  return 0;
}
