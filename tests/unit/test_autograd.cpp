// Autograd: accumulation, no_grad, gradients with respect to inputs, and that frozen parts of
// a graph do no backward work.
#include <doctest/doctest.h>

#include "engine/ops/ops.h"

using namespace lethe;

TEST_SUITE("unit") {
  TEST_CASE("gradients accumulate over uses and over backward calls") {
    Tensor x = Tensor::from_vector({3}, {1, 2, 3});
    x.set_requires_grad(true);
    Tensor y = ops::sum(ops::add(ops::mul(x, x), x));  // d/dx = 2x + 1
    y.backward();
    CHECK(x.grad().to_vector() == std::vector<float>{3, 5, 7});
    Tensor z = ops::sum(x);
    z.backward();
    CHECK(x.grad().to_vector() == std::vector<float>{4, 6, 8});
    x.zero_grad();
    CHECK(!x.grad().defined());
  }

  TEST_CASE("no_grad records nothing") {
    Tensor x = Tensor::ones({2});
    x.set_requires_grad(true);
    NoGradGuard ng;
    Tensor y = ops::mul(x, 3.0);
    CHECK(!y.requires_grad());
    CHECK(y.is_leaf());
  }

  TEST_CASE("gradient with respect to an input without touching parameters' .grad") {
    Tensor w = Tensor::from_vector({2, 2}, {1, 2, 3, 4});
    w.set_requires_grad(true);
    Tensor x = Tensor::from_vector({1, 2}, {1, 1});
    x.set_requires_grad(true);
    Tensor loss = ops::sum(ops::linear(x, w, Tensor()));  // d/dx = column sums of w
    std::vector<Tensor> g = grad(loss, {x});
    CHECK(g[0].to_vector() == std::vector<float>{4, 6});
    CHECK(!w.grad().defined());
  }

  TEST_CASE("frozen layers do no backward work") {
    // Three convolutions; freezing the first two must skip their backward entirely.
    auto run = [](bool freeze) {
      Tensor x = Tensor::randn({2, 3, 9, 9}, 1);
      std::vector<Tensor> ws;
      for (int i = 0; i < 3; ++i) {
        Tensor w = ops::mul(Tensor::randn({3, 3, 3, 3}, 10 + i), 0.2);
        w.set_requires_grad(!(freeze && i < 2));
        ws.push_back(w);
      }
      Tensor h = x;
      for (auto& w : ws) h = ops::relu(ops::conv2d(h, w, Tensor(), 1, 1));
      uint64_t before = backward_nodes_run();
      ops::sum(h).backward();
      uint64_t nodes = backward_nodes_run() - before;
      CHECK(ws[2].grad().defined());
      CHECK(ws[0].grad().defined() == !freeze);
      return nodes;
    };
    uint64_t full = run(false), frozen = run(true);
    // Full: sum, 3 relu, 3 conv = 7 nodes; frozen: sum, relu, conv = 3.
    CHECK(full == 7);
    CHECK(frozen == 3);
  }

  TEST_CASE("backward of a non-scalar needs a gradient") {
    Tensor x = Tensor::ones({2});
    x.set_requires_grad(true);
    Tensor y = ops::mul(x, 2.0);
    CHECK_THROWS_AS(y.backward(), Error);
    CHECK_THROWS_AS(y.backward(Tensor::ones({3})), Error);
  }
}

TEST_SUITE("unit") {
  TEST_CASE("the graph keeps only what backward closures saved, not every intermediate") {
    Tensor x = Tensor::from_vector({4}, {-1, 2, -3, 4});
    x.set_requires_grad(true);
    std::weak_ptr<Storage> scaled_storage, relu_storage;
    Tensor loss;
    {
      Tensor scaled = ops::mul(x, 2.0);  // Scale saves nothing
      Tensor r = ops::relu(scaled);      // ReLU saves its output only
      scaled_storage = scaled.impl()->storage;
      relu_storage = r.impl()->storage;
      loss = ops::sum(ops::add(r, r));  // two uses of r: gradients meet at r's node
    }
    CHECK(scaled_storage.expired());  // only graph edges referred to it
    CHECK(!relu_storage.expired());   // ReLU's closure saved it
    loss.backward();
    CHECK(x.grad().to_vector() == std::vector<float>{0, 4, 0, 4});  // 2 uses × 2 × (x > 0)
    CHECK(relu_storage.expired());  // freed with the graph after the walk
  }

  TEST_CASE("gradients of a non-leaf tensor by grad() through shared consumers") {
    Tensor x = Tensor::from_vector({2}, {1, 2});
    x.set_requires_grad(true);
    Tensor e = ops::mul(x, 3.0);                          // non-leaf
    Tensor loss = ops::sum(ops::add(ops::mul(e, e), e));  // d/de = 2e + 1
    std::vector<Tensor> g = grad(loss, {e, x});
    CHECK(g[0].to_vector() == std::vector<float>{7, 13});
    CHECK(g[1].to_vector() == std::vector<float>{21, 39});
    CHECK(!x.grad().defined());
  }
}
