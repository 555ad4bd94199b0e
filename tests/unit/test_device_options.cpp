// The device options (engine/backend/device_options.h): option parsing and the cuDNN algorithm
// choice, tested as data since no GPU runs here.
#include <doctest/doctest.h>

#include "engine/backend/device_options.h"
#include "engine/core/error.h"

namespace lethe {
namespace {

AlgoCandidate cand(int algo, bool ok, size_t memory, bool det, bool tensor_op) {
  AlgoCandidate c;
  c.algo = algo;
  c.ok = ok;
  c.memory = memory;
  c.deterministic = det;
  c.tensor_op = tensor_op;
  return c;
}

}  // namespace

TEST_SUITE("unit") {
  TEST_CASE("device options: --kernels and --tf32 values, one-line errors otherwise") {
    CHECK_FALSE(parse_kernels_option("own"));
    CHECK(parse_kernels_option("vendor"));
    CHECK_THROWS_WITH_AS(parse_kernels_option("cudnn"),
                         "--kernels: unknown 'cudnn' (use own or vendor)", Error);
    CHECK(parse_tf32_option("on"));
    CHECK_FALSE(parse_tf32_option("off"));
    CHECK_THROWS_WITH_AS(parse_tf32_option("yes"), "--tf32: unknown 'yes' (use on or off)", Error);
    DeviceOptions o;
    CHECK(to_json(o).at("kernels") == "own");
    CHECK(to_json(o).at("tf32") == false);
  }

  TEST_CASE("device options: cuDNN algorithm choice honours status, cap, determinism and TF32") {
    // Heuristics order: a failed one, a TF32 one, a huge one, a nondeterministic one, a plain one.
    const AlgoCandidate c[] = {cand(7, false, 0, true, false), cand(6, true, 0, true, true),
                               cand(5, true, size_t{1} << 40, true, false),
                               cand(4, true, 1024, false, false), cand(3, true, 4096, true, false)};
    DeviceOptions o;                   // tf32 off, not deterministic, 256 MiB cap
    CHECK(choose_algo(c, 5, o) == 4);  // 7 failed, 6 is TF32, 5 exceeds the cap
    o.deterministic = true;
    CHECK(choose_algo(c, 5, o) == 3);
    o.tf32 = true;
    CHECK(choose_algo(c, 5, o) == 6);
    o.workspace_cap = size_t{2} << 40;
    o.tf32 = false;
    CHECK(choose_algo(c, 5, o) == 5);   // within the larger cap, deterministic, FMA math
    CHECK(choose_algo(c, 1, o) == -1);  // only the failed one: none qualifies
    CHECK(choose_algo(c, 0, o) == -1);
  }
}

}  // namespace lethe
