// Per-op forward+backward time for every op of the registry (engine/ops/registry.h), on each
// backend, on the op's largest registry case: the same table the harness and the gradient
// checker use. Small shapes: this shows dispatch and kernel overheads, not peak throughput
// (bench_gemm and bench_conv measure that). JSON on stdout, table on stderr.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "engine/ops/registry.h"
#include "tests/support/run_op.h"

using namespace lethe;

int main() {
  nlohmann::json out = nlohmann::json::array();
  std::fprintf(stderr, "%-24s %-8s %-32s %12s\n", "op", "backend", "case", "fwd+bwd us");
  for (const ops::OpInfo& op : ops::op_registry()) {
    std::vector<ops::OpCase> cases = op.cases();
    auto big = std::max_element(cases.begin(), cases.end(), [](auto& a, auto& b) {
      return a.inputs[0].defined() && b.inputs[0].defined() &&
             a.inputs[0].numel() < b.inputs[0].numel();
    });
    for (const std::string& be : backend_names()) {
      testing::run_op(op, *big, be);  // warm-up
      double best = 1e30;
      for (int r = 0; r < 5; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        testing::run_op(op, *big, be);
        best = std::min(
            best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      std::fprintf(stderr, "%-24s %-8s %-32s %12.1f\n", op.name.c_str(), be.c_str(),
                   big->label.c_str(), best * 1e6);
      out.push_back({{"op", op.name}, {"backend", be}, {"case", big->label}, {"us", best * 1e6}});
    }
  }
  std::printf("%s\n", nlohmann::json{{"ops", out}}.dump().c_str());
}
