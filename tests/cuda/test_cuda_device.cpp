// Needs a real GPU (run by `lethe_cuda_tests --device-tests`, which exits 77 = skipped without
// one): every registry op on backend "cuda" against cpu_ref, and the golden models, with the
// tolerances the cpu and emu backends meet. No GPU has run these yet.
#include <doctest/doctest.h>

#include "engine/backend/backend.h"
#include "models/verify.h"
#include "tests/support/run_op.h"

using namespace lethe;

TEST_SUITE("cuda_device") {
  TEST_CASE("every op on cuda matches cpu_ref") {
    for (const ops::OpInfo& op : ops::op_registry())
      for (const ops::OpCase& c : op.cases()) {
        CAPTURE(op.name);
        CAPTURE(c.label);
        testing::OpRun ref = testing::run_op(op, c, "cpu_ref");
        testing::OpRun got = testing::run_op(op, c, "cuda");
        REQUIRE(got.y.shape() == ref.y.shape());
        CHECK(testing::rel_error(got.y, ref.y) <= 1e-4);
        for (size_t i = 0; i < ref.grads.size(); ++i)
          if (ref.grads[i].defined()) CHECK(testing::rel_error(got.grads[i], ref.grads[i]) <= 1e-4);
      }
  }

  TEST_CASE("golden reference files pass verify on cuda") {
    BackendGuard cuda("cuda");
    for (const char* name : {"resnet_bottleneck_w8", "resnet_basic_w8_imagenet_stem", "vit_d32"}) {
      CAPTURE(name);
      models::VerifyReport r = models::verify_reference(
          std::string(LETHE_TEST_DATA_DIR "/golden/") + name + ".safetensors");
      CHECK(r.ok());
    }
  }
}
