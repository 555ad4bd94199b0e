// cuDNN's descriptor and output-shape logic, run for real: these calls need the library, not a
// device. Lethe's conv output shape (engine/ops) must agree with cuDNN's for every case the
// cuDNN fast path could be handed, and bad shapes must be refused in one line.
#include <doctest/doctest.h>

#include "engine/backend/cuda/real/cudnn_conv.h"
#include "engine/core/error.h"

namespace {

int64_t lethe_out(int64_t in, int64_t k, int64_t stride, int64_t pad) {
  return (in + 2 * pad - k) / stride + 1;  // engine/ops/conv.cpp's formula
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("cudnn: convolution output dims equal Lethe's conv shape") {
    struct Case {
      int64_t n, c, h, w, o, kh, kw, sh, sw, ph, pw;
    };
    const Case cases[] = {
        {2, 3, 32, 32, 8, 3, 3, 1, 1, 1, 1},    {4, 64, 56, 56, 64, 1, 1, 1, 1, 0, 0},
        {1, 3, 224, 224, 64, 7, 7, 2, 2, 3, 3}, {3, 5, 7, 9, 4, 3, 2, 2, 3, 1, 0},
        {2, 16, 15, 15, 32, 3, 3, 2, 2, 1, 1},  {1, 1, 5, 5, 1, 5, 5, 1, 1, 0, 0},
        {5, 2, 11, 13, 3, 4, 4, 4, 4, 2, 1}};
    for (const Case& k : cases) {
      lethe::Conv2dArgs a;
      a.stride_h = k.sh;
      a.stride_w = k.sw;
      a.pad_h = k.ph;
      a.pad_w = k.pw;
      lethe::kcuda::ConvDescriptors d(k.n, k.c, k.h, k.w, k.o, k.kh, k.kw, a);
      auto out = d.output_dims();
      CHECK(out[0] == k.n);
      CHECK(out[1] == k.o);
      CHECK(out[2] == lethe_out(k.h, k.kh, k.sh, k.ph));
      CHECK(out[3] == lethe_out(k.w, k.kw, k.sw, k.pw));
    }
  }

  TEST_CASE("cudnn: impossible shapes are refused with the call named") {
    lethe::Conv2dArgs a;
    // A kernel larger than the padded input has no output.
    CHECK_THROWS_WITH_AS(lethe::kcuda::ConvDescriptors(1, 3, 4, 4, 8, 7, 7, a),
                         doctest::Contains("cudnn"), lethe::Error);
    a.stride_h = 0;  // cuDNN rejects a zero stride
    CHECK_THROWS_WITH_AS(lethe::kcuda::ConvDescriptors(1, 3, 8, 8, 8, 3, 3, a),
                         doctest::Contains("cudnnSetConvolution2dDescriptor"), lethe::Error);
    lethe::Conv2dArgs ok;
    CHECK_THROWS_WITH_AS(lethe::kcuda::ConvDescriptors(int64_t(1) << 33, 3, 8, 8, 8, 3, 3, ok),
                         doctest::Contains("does not fit"), lethe::Error);
  }
}
