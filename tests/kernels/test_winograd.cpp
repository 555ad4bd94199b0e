// F(2×2, 3×3) Winograd convolution (kernels/cpu/winograd.h) against a direct convolution in
// double: odd and even sizes (ragged last tile), pads 0/1/2, chunks of one image, several images
// with a shorter last chunk, and the whole batch; the flipped-transposed (backward-data) mode;
// bias; filters transformed beforehand (same bits); the weight gradient against a direct sum; guard
// floats after the output and the workspace stay untouched. Both data layouts: the portable one,
// and the channel-blocked one that the AVX2/AVX-512 paths take when C and O are multiples of 8
// (cases below, and the per-thread test).
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/winograd.h"
#include "tests/support/isa.h"

using namespace lethe::kernels::cpu;
using lethe::testing::for_each_isa;
using lethe::testing::isa_paths;

namespace {

// y[n][o][oh][ow] = Σ w_eff[o][c][i][j] · x[n][c][oh + i − p][ow + j − p] + b[o]
std::vector<double> direct(const std::vector<float>& x, const std::vector<float>& w,
                           const std::vector<float>& b, const Winograd3x3Geom& g, bool flip) {
  std::vector<double> y(g.N * g.O * g.OH * g.OW);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t o = 0; o < g.O; ++o)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          double s = b.empty() ? 0.0 : b[o];
          for (int64_t c = 0; c < g.C; ++c)
            for (int i = 0; i < 3; ++i)
              for (int j = 0; j < 3; ++j) {
                const int64_t r = oh + i - g.pad_h, q = ow + j - g.pad_w;
                if (r < 0 || r >= g.H || q < 0 || q >= g.W) continue;
                const double wv = flip ? w[((c * g.O + o) * 3 + (2 - i)) * 3 + (2 - j)]
                                       : w[((o * g.C + c) * 3 + i) * 3 + j];
                s += wv * x[((n * g.C + c) * g.H + r) * g.W + q];
              }
          y[((n * g.O + o) * g.OH + oh) * g.OW + ow] = s;
        }
  return y;
}

Winograd3x3Geom geom(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int64_t pad) {
  return {N, C, H, W, O, pad, pad, H + 2 * pad - 2, W + 2 * pad - 2};
}

// max |got − want| over the first want.size() values, relative to max |want| (at least 1e-6).
double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  double err = 0, scale = 1e-6;
  for (size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::fabs(got[i] - want[i]));
    scale = std::max(scale, std::fabs(want[i]));
  }
  return err / scale;
}

// dw[o][c][i][j] = Σ dy[n][o][oh][ow] · x[n][c][oh + i − p][ow + j − p]
std::vector<double> direct_weight_grad(const std::vector<float>& x, const std::vector<float>& dy,
                                       const Winograd3x3Geom& g) {
  std::vector<double> dw(g.O * g.C * 9, 0.0);
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t o = 0; o < g.O; ++o)
      for (int64_t c = 0; c < g.C; ++c)
        for (int i = 0; i < 3; ++i)
          for (int j = 0; j < 3; ++j) {
            double s = 0;
            for (int64_t oh = 0; oh < g.OH; ++oh)
              for (int64_t ow = 0; ow < g.OW; ++ow) {
                const int64_t r = oh + i - g.pad_h, q = ow + j - g.pad_w;
                if (r < 0 || r >= g.H || q < 0 || q >= g.W) continue;
                s += static_cast<double>(dy[((n * g.O + o) * g.OH + oh) * g.OW + ow]) *
                     x[((n * g.C + c) * g.H + r) * g.W + q];
              }
            dw[((o * g.C + c) * 3 + i) * 3 + j] += s;
          }
  return dw;
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("winograd F(2x2,3x3) weight gradient matches a direct sum") {
    struct Case {
      int64_t N, C, H, W, O, pad;
    };
    const Case cases[] = {
        {3, 5, 8, 8, 4, 1},  // even sizes
        {3, 4, 7, 9, 6, 1},  // odd: ragged last tile row and column
        {2, 3, 6, 5, 2, 0},  // no padding
        {2, 6, 5, 6, 3, 2},  // pad 2
        {1, 2, 3, 3, 2, 1},  // a single tile-and-a-bit
        // C and O multiples of 8: the channel-blocked layout on the AVX2 and AVX-512 paths.
        {3, 8, 7, 9, 16, 1},    // odd: ragged tiles, a partial 8-column block of the planes
        {2, 16, 17, 18, 8, 0},  // no padding, two whole 8-column blocks and a rest
        {2, 8, 5, 6, 8, 2},     // pad 2
    };
    int runs = 0;
    double worst = 0;
    // The transforms' GEMMs take the ISA's micro-kernels: every path against the same sums.
    for_each_isa([&](const char*) {
      std::mt19937 rng(11);
      std::uniform_real_distribution<float> dist(-1.f, 1.f);
      for (const Case& k : cases) {
        const Winograd3x3Geom g = geom(k.N, k.C, k.H, k.W, k.O, k.pad);
        std::vector<float> x(g.N * g.C * g.H * g.W), dy(g.N * g.O * g.OH * g.OW);
        for (auto& v : x) v = dist(rng);
        for (auto& v : dy) v = dist(rng);
        const std::vector<double> want = direct_weight_grad(x, dy, g);
        const int64_t per_image = ((g.OH + 1) / 2) * ((g.OW + 1) / 2);
        for (int64_t max_tiles : {int64_t(1), 2 * per_image, int64_t(1) << 30}) {
          CAPTURE(k.N);
          CAPTURE(k.C);
          CAPTURE(k.H);
          CAPTURE(k.W);
          CAPTURE(k.pad);
          CAPTURE(max_tiles);
          constexpr float kGuard = 12345.f;
          const int64_t ws = winograd_f2x3_workspace(g, max_tiles);
          std::vector<float> dw(want.size() + 8, kGuard), work(ws + 8, kGuard);
          winograd_f2x3_weight_grad(x.data(), dy.data(), dw.data(), g, max_tiles, work.data());
          for (int i = 0; i < 8; ++i) {
            CHECK(dw[want.size() + i] == kGuard);
            CHECK(work[ws + i] == kGuard);
          }
          const double err = relative_error(dw, want);
          CHECK(err < 1e-5);
          worst = std::max(worst, err);
          ++runs;
        }
      }
    });
    std::printf("winograd weight gradient: %d runs, worst relative error %.2e\n", runs, worst);
    CHECK(runs == 24 * isa_paths());
  }

  TEST_CASE("winograd with an empty batch: the weight gradient is zero, nothing else is written") {
    Winograd3x3Geom g{0, 3, 5, 5, 2, 1, 1, 5, 5};
    const int64_t ws = winograd_f2x3_workspace(g, 1 << 20);
    std::vector<float> work(ws + 1, 7.f), dw(g.O * g.C * 9 + 1, 7.f), w(g.O * g.C * 9, 1.f);
    float y_guard = 7.f;
    winograd_f2x3_weight_grad(nullptr, nullptr, dw.data(), g, 1 << 20, work.data());
    int nonzero = 0;
    for (int64_t i = 0; i < g.O * g.C * 9; ++i) nonzero += dw[i] != 0.f;
    CHECK(nonzero == 0);
    CHECK(dw.back() == 7.f);
    winograd_f2x3(nullptr, w.data(), nullptr, &y_guard, g, false, 1 << 20, work.data());
    CHECK(y_guard == 7.f);
    CHECK(work.back() == 7.f);
  }

  TEST_CASE("winograd F(2x2,3x3) matches a direct convolution") {
    struct Case {
      int64_t N, C, H, W, O, pad;
      bool bias, flip;
    };
    const Case cases[] = {
        {3, 5, 8, 8, 4, 1, true, false},   // even sizes, pad 1
        {3, 4, 7, 9, 6, 1, false, false},  // odd sizes: ragged last tile row and column
        {2, 3, 6, 5, 2, 0, true, false},   // no padding
        {2, 6, 5, 6, 3, 2, false, false},  // pad 2 (backward-data of a pad-0 convolution)
        {3, 5, 7, 7, 4, 1, false, true},   // flipped-transposed filters
        {1, 2, 3, 3, 2, 1, true, true},    // a single tile-and-a-bit
        // C and O multiples of 8: the channel-blocked layout on the AVX2 and AVX-512 paths.
        {3, 8, 7, 9, 16, 1, true, false},     // odd sizes, bias, a partial 8-column block
        {2, 16, 17, 18, 8, 0, false, false},  // no padding, two whole 8-column blocks and a rest
        {2, 8, 5, 6, 8, 2, true, false},      // pad 2
        {3, 8, 7, 7, 16, 1, false, true},     // flipped-transposed filters
        {1, 24, 3, 3, 8, 1, true, true},      // a single tile-and-a-bit, three channel blocks
    };
    int runs = 0;
    double worst = 0;
    for_each_isa([&](const char*) {
      std::mt19937 rng(5);
      std::uniform_real_distribution<float> dist(-1.f, 1.f);
      for (const Case& k : cases) {
        const Winograd3x3Geom g = geom(k.N, k.C, k.H, k.W, k.O, k.pad);
        // The layout taken is the one named: blocked exactly off the scalar path with C, O % 8 ==
        // 0.
        CHECK(winograd_f2x3_channel_blocked(g) ==
              (gemm_isa() != GemmIsa::Scalar && k.C % 8 == 0 && k.O % 8 == 0));
        std::vector<float> x(g.N * g.C * g.H * g.W), w(g.O * g.C * 9), b;
        for (auto& v : x) v = dist(rng);
        for (auto& v : w) v = dist(rng);
        if (k.bias) {
          b.resize(g.O);
          for (auto& v : b) v = dist(rng);
        }
        const std::vector<double> want = direct(x, w, b, g, k.flip);
        const int64_t per_image = ((g.OH + 1) / 2) * ((g.OW + 1) / 2);
        // One image per chunk; two (N = 3: chunks of 2 and 1); everything at once.
        for (int64_t max_tiles : {int64_t(1), 2 * per_image, int64_t(1) << 30}) {
          CAPTURE(k.N);
          CAPTURE(k.C);
          CAPTURE(k.H);
          CAPTURE(k.W);
          CAPTURE(k.pad);
          CAPTURE(k.flip);
          CAPTURE(max_tiles);
          constexpr float kGuard = 12345.f;
          const int64_t ws = winograd_f2x3_workspace(g, max_tiles);
          std::vector<float> y(want.size() + 8, kGuard), work(ws + 8, kGuard);
          winograd_f2x3(x.data(), w.data(), k.bias ? b.data() : nullptr, y.data(), g, k.flip,
                        max_tiles, work.data());
          for (int i = 0; i < 8; ++i) {
            CHECK(y[want.size() + i] == kGuard);
            CHECK(work[ws + i] == kGuard);
          }
          const double err = relative_error(y, want);
          CHECK(err < 1e-5);
          worst = std::max(worst, err);
          ++runs;
          // The filters transformed beforehand (a frozen weight, engine/backend/frozen_params.h):
          // the same bits, and w not read at all (passed as null).
          const int64_t fl = winograd_f2x3_filter_floats(g);
          CHECK(fl == 16 * g.O * g.C);
          std::vector<float> U(fl + 8, kGuard), y2(want.size(), kGuard);
          winograd_f2x3_filters(w.data(), g, k.flip, U.data());
          for (int i = 0; i < 8; ++i) CHECK(U[fl + i] == kGuard);
          winograd_f2x3(x.data(), nullptr, k.bias ? b.data() : nullptr, y2.data(), g, k.flip,
                        max_tiles, work.data(), U.data());
          CHECK(std::equal(y2.begin(), y2.end(), y.begin()));
        }
      }
    });
    std::printf("winograd: %d runs, worst relative error %.2e\n", runs, worst);
    CHECK(runs == 33 * isa_paths());
  }

  TEST_CASE("winograd default chunk holds whole images and bounds the workspace") {
    Winograd3x3Geom g{64, 64, 32, 32, 64, 1, 1, 32, 32};
    const int64_t t = winograd_f2x3_default_tiles(g);
    CHECK(t % 256 == 0);  // 16×16 tiles per image
    CHECK(winograd_f2x3_workspace(g, t) * 4 <= (int64_t(33) << 20));
    Winograd3x3Geom big{2, 4096, 64, 64, 4096, 1, 1, 64, 64};  // one image exceeds the budget
    CHECK(winograd_f2x3_default_tiles(big) == 32 * 32);
  }

  TEST_CASE("winograd per-thread chunks: same results as one thread, within the direct sums") {
    // 7×7 = 49 tiles per image (≥ the 48 that per-thread chunks need), 16 + 16 channels: the
    // default chunk holds 3 images, so N = 7 gives chunks of 3, 3, 1 — a chunk for each of 2
    // threads and a short last one.
    const Winograd3x3Geom g = geom(7, 16, 14, 14, 16, 1);
    const int64_t max_tiles = winograd_f2x3_default_tiles(g);
    CHECK(max_tiles == 3 * 49);
    const int saved = omp_get_max_threads();
    int runs = 0;
    for_each_isa([&](const char*) {
      std::mt19937 rng(23);
      std::uniform_real_distribution<float> dist(-1.f, 1.f);
      std::vector<float> x(g.N * g.C * g.H * g.W), w(g.O * g.C * 9), dy(g.N * g.O * g.OH * g.OW);
      for (auto& v : x) v = dist(rng);
      for (auto& v : w) v = dist(rng);
      for (auto& v : dy) v = dist(rng);
      const std::vector<double> want_y = direct(x, w, {}, g, false);
      const std::vector<double> want_dw = direct_weight_grad(x, dy, g);
      std::vector<float> y1;
      for (int threads : {1, 2}) {
        CAPTURE(threads);
        omp_set_num_threads(threads);
        constexpr float kGuard = 12345.f;
        const int64_t ws = winograd_f2x3_workspace(g, max_tiles);
        std::vector<float> y(want_y.size() + 8, kGuard), dw(want_dw.size() + 8, kGuard);
        std::vector<float> work(ws + 8, kGuard);
        winograd_f2x3(x.data(), w.data(), nullptr, y.data(), g, false, max_tiles, work.data());
        winograd_f2x3_weight_grad(x.data(), dy.data(), dw.data(), g, max_tiles, work.data());
        for (int i = 0; i < 8; ++i) {
          CHECK(y[want_y.size() + i] == kGuard);
          CHECK(dw[want_dw.size() + i] == kGuard);
          CHECK(work[ws + i] == kGuard);
        }
        CHECK(relative_error(y, want_y) < 1e-5);
        CHECK(relative_error(dw, want_dw) < 1e-5);
        y.resize(want_y.size());
        if (threads == 1) {
          y1 = y;
        } else {
          CHECK(y == y1);  // a chunk's arithmetic does not depend on the thread that runs it
        }
        ++runs;
      }
    });
    omp_set_num_threads(saved);
    CHECK(runs == 2 * isa_paths());
  }
}
