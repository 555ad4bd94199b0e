// FrozenParams (engine/backend/frozen_params.h): a derived form is made once per scope and key,
// dropped when the last scope naming its tensor ends, never kept for a tensor no scope names;
// and the CPU convolution inside a scope (Winograd filters transformed once) gives the same bits
// as outside it, forward and input gradient, on every ISA path.
#include <doctest/doctest.h>

#include <algorithm>

#include "engine/autograd/autograd.h"
#include "engine/backend/frozen_params.h"
#include "engine/ops/ops.h"
#include "tests/support/isa.h"

using namespace lethe;

TEST_SUITE("unit") {
  TEST_CASE("frozen params: derived once per scope, dropped with the last scope") {
    Tensor w = Tensor::randn({4, 4}, 1), other = Tensor::randn({4, 4}, 2);
    int made = 0;
    auto make = [&](float* p) {
      ++made;
      std::fill(p, p + 8, 3.0f);
    };
    CHECK(frozen_derived(w.data_ptr(), 7, 8, make) == nullptr);  // no scope: nothing kept
    CHECK(made == 0);
    {
      FrozenParams outer({w});
      const float* a = frozen_derived(w.data_ptr(), 7, 8, make);
      REQUIRE(a != nullptr);
      CHECK(a[7] == 3.0f);
      CHECK(frozen_derived(w.data_ptr(), 7, 8, make) == a);  // kept: not made again
      CHECK(made == 1);
      CHECK(frozen_derived(w.data_ptr(), 8, 8, make) != a);  // another key, another form
      CHECK(made == 2);
      CHECK(frozen_derived_floats() == 16);
      CHECK(frozen_derived(other.data_ptr(), 7, 8, make) == nullptr);  // not in any scope
      {
        FrozenParams inner({w, other});
        CHECK(frozen_derived(w.data_ptr(), 7, 8, make) == a);
        CHECK(frozen_derived(other.data_ptr(), 7, 8, make) != nullptr);
        CHECK(frozen_derived_floats() == 24);
      }
      // The inner scope's end drops `other` (no scope left) but not w (outer still names it).
      CHECK(frozen_derived_floats() == 16);
      CHECK(frozen_derived(w.data_ptr(), 7, 8, make) == a);
      CHECK(made == 3);
    }
    CHECK(frozen_derived_floats() == 0);
    CHECK(frozen_derived(w.data_ptr(), 7, 8, make) == nullptr);
    CHECK(made == 3);
  }

  TEST_CASE("frozen params: a Winograd convolution gives the same bits inside a scope") {
    // 16 → 16 channels, 3×3 stride 1: Winograd forward and backward-data (flipped filters).
    testing::for_each_isa([&](const char* isa) {
      CAPTURE(isa);
      Tensor x = Tensor::randn({3, 16, 9, 9}, 3), w = Tensor::randn({16, 16, 3, 3}, 4);
      Tensor b = Tensor::randn({16}, 5);
      auto run = [&](Tensor& y, Tensor& dx) {
        EnableGradGuard eg;
        Tensor xi = x.clone();
        xi.set_requires_grad(true);
        y = ops::conv2d(xi, w, b, 1, 1);
        dx = lethe::grad(ops::sum(ops::square(y)), {xi})[0];
      };
      Tensor y0, dx0, y1, dx1, y2, dx2;
      run(y0, dx0);
      CHECK(frozen_derived_floats() == 0);
      {
        FrozenParams frozen({w});
        run(y1, dx1);
        // Forward and flipped filters, 16 transformed positions each.
        CHECK(frozen_derived_floats() == 2 * 16 * 16 * 16);
        run(y2, dx2);  // from the kept filters
      }
      for (const Tensor* t : {&y1, &y2})
        CHECK(std::ranges::equal(t->to_vector_f64(), y0.to_vector_f64()));
      for (const Tensor* t : {&dx1, &dx2})
        CHECK(std::ranges::equal(t->to_vector_f64(), dx0.to_vector_f64()));
    });
  }
}
