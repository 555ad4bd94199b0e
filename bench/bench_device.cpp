// Own kernels against the vendor libraries on a device backend, one forward + backward per op:
// GEMM (vit-small's qkv projection), 3×3 convolution (a ResNet-50 bottleneck), batch norm and
// softmax (own kernels only: there is no vendor path for them). `--shapes studies` uses the
// shapes of the studies' models, `--shapes tiny` small ones that finish in seconds on the
// emulator (whose times are emulator times, never GPU times). Tensors are staged by the device
// backend, so the times include host↔device copies until tensors are device-resident.
// JSON on stdout. Usage: bench_device [--device emu|cuda] [--shapes tiny|studies] [--reps N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/backend/device_options.h"
#include "engine/core/error.h"
#include "engine/ops/registry.h"
#include "tests/support/run_op.h"

using namespace lethe;

namespace {

struct Case {
  std::string op, label;
  std::vector<Tensor> inputs;
  std::vector<bool> differentiable;
  bool vendor_path;  // the op has a vendor implementation (GEMM, convolution)
};

std::vector<Case> cases(bool tiny) {
  auto rn = [](const Shape& s, uint64_t seed) { return Tensor::randn(s, seed); };
  std::vector<Case> c;
  const int64_t tokens = tiny ? 65 : 64 * 65, d = tiny ? 32 : 192;
  c.push_back({"matmul",
               "qkv [" + std::to_string(tokens) + "x" + std::to_string(d) + "]·[" +
                   std::to_string(d) + "x" + std::to_string(3 * d) + "]",
               {rn({tokens, d}, 1), rn({d, 3 * d}, 2)},
               {true, true},
               true});
  const int64_t n = tiny ? 2 : 32, ch = tiny ? 16 : 128, hw = tiny ? 8 : 16;
  const std::string x = "[" + std::to_string(n) + "," + std::to_string(ch) + "," +
                        std::to_string(hw) + "," + std::to_string(hw) + "]";
  c.push_back({"conv2d",
               "3x3 " + x,
               {rn({n, ch, hw, hw}, 3), rn({ch, ch, 3, 3}, 4), rn({ch}, 5),
                Tensor::from_vector({2}, {1.f, 1.f})},  // stride 1, pad 1
               {true, true, true, false},
               true});
  c.push_back({"batch_norm_train",
               x,
               {rn({n, 2 * ch, hw, hw}, 6), rn({2 * ch}, 7), rn({2 * ch}, 8),
                Tensor::zeros({2 * ch}), Tensor::ones({2 * ch})},
               {true, true, true, false, false},
               false});
  const int64_t rows = tiny ? 3 * 65 : 64 * 3 * 65;
  c.push_back({"softmax", "[" + std::to_string(rows) + ",65]", {rn({rows, 65}, 9)}, {true}, false});
  return c;
}

double best_seconds(const ops::OpInfo& op, const ops::OpCase& oc, const std::string& be, int reps) {
  testing::run_op(op, oc, be);  // warm-up (and the vendor algorithm choice)
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    testing::run_op(op, oc, be);
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::string device = "emu", shapes = "tiny";
  int reps = 3;
  for (int i = 1; i < argc; ++i) {
    auto next = [&](const char* opt) -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_device: %s needs a value\n", opt);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--device")) {
      device = next("--device");
    } else if (!std::strcmp(argv[i], "--shapes")) {
      shapes = next("--shapes");
    } else if (!std::strcmp(argv[i], "--reps")) {
      reps = std::max(1, std::atoi(next("--reps").c_str()));
    } else {
      std::fprintf(stderr, "bench_device: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (shapes != "tiny" && shapes != "studies") {
    std::fprintf(stderr, "bench_device: --shapes must be tiny or studies\n");
    return 2;
  }
  try {
    (void)backend_by_name(device);
    nlohmann::json rows = nlohmann::json::array();
    const DeviceOptions saved = device_options();
    for (const Case& c : cases(shapes == "tiny")) {
      const ops::OpInfo& op = ops::find_op(c.op);
      ops::OpCase oc{c.label, c.inputs, c.differentiable};
      nlohmann::json row = {{"op", c.op}, {"case", c.label}};
      DeviceOptions o = saved;
      o.vendor = false;
      set_device_options(o);
      row["own_s"] = best_seconds(op, oc, device, reps);
      if (c.vendor_path) {
        o.vendor = true;
        set_device_options(o);
        row["vendor_s"] = best_seconds(op, oc, device, reps);
      }
      set_device_options(saved);
      std::fprintf(stderr, "%-18s %-28s own %.6f s%s\n", c.op.c_str(), c.label.c_str(),
                   row["own_s"].get<double>(),
                   c.vendor_path
                       ? (" vendor " + std::to_string(row["vendor_s"].get<double>()) + " s").c_str()
                       : "");
      rows.push_back(row);
    }
    std::printf("%s\n", nlohmann::json{{"device", device},
                                       {"shapes", shapes},
                                       {"timing", "best of reps, forward + backward, seconds"},
                                       {"ops", rows}}
                            .dump(2)
                            .c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_device: %s\n", e.what());
    return 1;
  }
  return 0;
}
