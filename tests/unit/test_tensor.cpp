// Tensor storage, views, allocator accounting, and argument errors.
#include <doctest/doctest.h>

#include "engine/core/allocator.h"
#include "engine/ops/ops.h"

using namespace lethe;

TEST_SUITE("unit") {
  TEST_CASE("storage is 64-byte aligned and the allocator reuses freed blocks") {
    Allocator& a = Allocator::instance();
    void* first = nullptr;  // alignment only: several cached blocks may fit
    {
      Tensor t = Tensor::empty({13, 7});
      first = t.raw();
      CHECK(reinterpret_cast<uintptr_t>(first) % 64 == 0);
    }
    AllocatorStats before = a.stats();
    Tensor u = Tensor::empty({13, 7});
    AllocatorStats after = a.stats();
    CHECK(after.cache_hits == before.cache_hits + 1);
  }

  TEST_CASE("peak bytes track the high-water mark") {
    Allocator& a = Allocator::instance();
    a.reset_peak();
    size_t base = a.stats().in_use_bytes;
    {
      Tensor big = Tensor::empty({1 << 20});  // 4 MiB
      CHECK(a.stats().in_use_bytes >= base + (4u << 20));
    }
    CHECK(a.stats().peak_bytes >= base + (4u << 20));
    CHECK(a.stats().in_use_bytes == base);
  }

  TEST_CASE("guard mode detects nothing on correct use") {
    Allocator& a = Allocator::instance();
    a.set_guard_mode(true);
    Tensor t = Tensor::zeros({3, 5});
    t.fill_(2.0);
    CHECK(a.check_guards() == 0);
    a.set_guard_mode(false);
  }

  TEST_CASE("views share storage: reshape, permute, transpose, slice, contiguous") {
    Tensor x = Tensor::from_vector({2, 3}, {0, 1, 2, 3, 4, 5});
    Tensor r = ops::reshape(x, {3, -1});
    CHECK(r.shape() == Shape{3, 2});
    CHECK(r.raw() == x.raw());
    Tensor t = ops::transpose(x, 0, 1);
    CHECK(t.shape() == Shape{3, 2});
    CHECK(!t.is_contiguous());
    CHECK(t.to_vector() == std::vector<float>{0, 3, 1, 4, 2, 5});
    Tensor s = ops::slice(x, 1, 1, 3);
    CHECK(s.to_vector() == std::vector<float>{1, 2, 4, 5});
    Tensor c = ops::contiguous(t);
    CHECK(c.is_contiguous());
    CHECK(c.to_vector() == std::vector<float>{0, 3, 1, 4, 2, 5});
    Tensor p = ops::permute(Tensor::zeros({2, 3, 4}), {2, 0, 1});
    CHECK(p.shape() == Shape{4, 2, 3});
  }

  TEST_CASE("i64 and u8 tensors") {
    Tensor l = Tensor::from_vector_i64({3}, {7, -1, 2});
    CHECK(l.dtype() == DType::I64);
    CHECK(l.to_vector_i64() == std::vector<int64_t>{7, -1, 2});
    Tensor img = Tensor::full({2, 2}, 255, DType::U8);
    CHECK(img.at(3) == 255);
    CHECK(img.to(DType::F32).to_vector() == std::vector<float>{255, 255, 255, 255});
  }

  TEST_CASE("bad arguments throw errors naming the op and shapes") {
    Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({4, 5});
    CHECK_THROWS_WITH_AS(ops::matmul(a, b), doctest::Contains("matmul"), Error);
    CHECK_THROWS_WITH_AS(ops::matmul(a, b), doctest::Contains("[2,3]"), Error);
    CHECK_THROWS_WITH_AS(ops::add(a, b), doctest::Contains("do not broadcast"), Error);
    CHECK_THROWS_WITH_AS(
        ops::conv2d(Tensor::zeros({1, 2, 5, 5}), Tensor::zeros({3, 4, 3, 3}), Tensor(), 1, 0),
        doctest::Contains("channels"), Error);
    CHECK_THROWS_WITH_AS(
        ops::conv2d(Tensor::zeros({1, 2, 2, 2}), Tensor::zeros({3, 2, 3, 3}), Tensor(), 1, 0),
        doctest::Contains("larger than padded input"), Error);
    CHECK_THROWS_WITH_AS(ops::reshape(a, {4, -1}), doctest::Contains("reshape"), Error);
    CHECK_THROWS_WITH_AS(
        ops::cross_entropy(Tensor::zeros({2, 3}), Tensor::from_vector_i64({2}, {0, 3})),
        doctest::Contains("out of range"), Error);
    CHECK_THROWS_WITH_AS(ops::slice(a, 1, 2, 5), doctest::Contains("slice"), Error);
    CHECK_THROWS_AS(ops::linear(a, Tensor::zeros({3, 4}), Tensor()), Error);
    CHECK_THROWS_AS(ops::dropout(a, 1.5, true, 0), Error);
    CHECK_THROWS_AS(ops::max_pool2d(Tensor::zeros({1, 1, 4, 4}), 2, 2, 3), Error);
    CHECK_THROWS_AS(backend_by_name("tpu"), Error);
  }
}
