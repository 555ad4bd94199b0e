// The CUDA test program. `--device-tests` runs the tests that need a real GPU (the op harness and
// the golden models on backend "cuda"); without a device it says so and exits 77, which ctest
// reports as skipped. Without the flag it runs the tests that need only the libraries.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

#include "engine/backend/device.h"

int main(int argc, char** argv) {
  bool device = false;
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--device-tests") == 0) device = true;
  if (device) {
    std::string why = lethe::cuda_unavailable_reason();
    if (!why.empty()) {
      std::printf("skipped: %s\n", why.c_str());
      return 77;
    }
  }
  doctest::Context ctx;
  ctx.applyCommandLine(argc, argv);
  ctx.setOption("test-suite", device ? "cuda_device" : "cuda");
  return ctx.run();
}
