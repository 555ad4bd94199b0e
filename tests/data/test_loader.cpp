// Loader and transforms: determinism, epoch coverage, the background thread, augmentation.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "data/loader.h"
#include "data/spec.h"
#include "data/transforms.h"
#include "tests/data/util.h"

using namespace lethe;
using namespace lethe::data;
using namespace lethe::data::test;

namespace {

// n images 2x5x5, every pixel of image i equal to i (mod 256), label i % 3.
Dataset images(int64_t n) {
  Dataset d;
  d.images = Tensor::empty({n, 2, 5, 5}, DType::U8);
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < 50; ++j) d.images.data<uint8_t>()[i * 50 + j] = static_cast<uint8_t>(i + j);
  }
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) y[static_cast<size_t>(i)] = i % 3;
  d.labels = Tensor::from_vector_i64({n}, y);
  d.num_classes = 3;
  d.name = "toy";
  return d;
}

std::vector<Batch> epoch(Loader& l, int64_t e) {
  l.start_epoch(e);
  std::vector<Batch> out;
  Batch b;
  while (l.next(b)) out.push_back(b);
  return out;
}

}  // namespace

TEST_SUITE("data") {
  TEST_CASE("loader: same seed, same batches; epochs differ; every index once") {
    const Dataset d = images(37);
    LoaderOptions o;
    o.batch_size = 8;
    o.seed = 11;
    o.augment.crop_pad = 1;
    o.augment.flip = true;
    Loader a(d, o), b(d, o);
    o.background = false;
    Loader sync(d, o);
    CHECK(a.num_batches() == 5);
    const std::vector<Batch> ea = epoch(a, 3), eb = epoch(b, 3), es = epoch(sync, 3);
    REQUIRE(ea.size() == 5);
    REQUIRE(eb.size() == 5);
    REQUIRE(es.size() == 5);
    std::vector<int64_t> seen;
    for (size_t i = 0; i < ea.size(); ++i) {
      CHECK(ea[i].indices == eb[i].indices);
      CHECK(ea[i].indices == es[i].indices);
      CHECK(ea[i].x.to_vector() == eb[i].x.to_vector());
      CHECK(ea[i].x.to_vector() == es[i].x.to_vector());
      CHECK(ea[i].y.to_vector_i64() == eb[i].y.to_vector_i64());
      for (size_t k = 0; k < ea[i].indices.size(); ++k) {
        CHECK(ea[i].y.data<int64_t>()[k] == ea[i].indices[k] % 3);
      }
      seen.insert(seen.end(), ea[i].indices.begin(), ea[i].indices.end());
    }
    CHECK(ea.back().x.shape() == Shape{5, 2, 5, 5});
    std::sort(seen.begin(), seen.end());
    for (int64_t i = 0; i < 37; ++i) CHECK(seen[static_cast<size_t>(i)] == i);
    // Another epoch gives another order; epoch 3 again gives the same one.
    CHECK(epoch(a, 4)[0].indices != ea[0].indices);
    CHECK(epoch(a, 3)[0].indices == ea[0].indices);
  }

  TEST_CASE("loader: index lists, drop_last, no shuffle, early restart") {
    const Dataset d = images(20);
    LoaderOptions o;
    o.batch_size = 4;
    o.shuffle = false;
    o.drop_last = true;
    Loader l(d, {5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, o);
    const std::vector<Batch> e = epoch(l, 0);
    REQUIRE(e.size() == 2);
    CHECK(e[1].indices == std::vector<int64_t>{9, 10, 11, 12});
    // Pixels are x/255 of the stored bytes without augmentation.
    CHECK(e[0].x.to_vector()[0] == doctest::Approx(5.0 / 255.0));
    CHECK(e[0].x.to_vector() == to_float01(d.subset(e[0].indices).images).to_vector());
    // Abandoning an epoch half-way and starting another is safe.
    Batch b;
    l.start_epoch(1);
    REQUIRE(l.next(b));
    l.start_epoch(2);
    REQUIRE(l.next(b));
    CHECK(b.indices == std::vector<int64_t>{5, 6, 7, 8});
    CHECK(contains(error_of([&] { Loader bad(d, {3, 20}, o); }), "index 20"));
  }

  TEST_CASE("loader: an exception on the background thread reaches the consumer") {
    const Dataset d = images(12);
    LoaderOptions o;
    o.batch_size = 4;
    o.on_batch = [](Batch& b) {
      if (std::find(b.indices.begin(), b.indices.end(), 7) != b.indices.end()) {
        throw lethe::Error("boom at 7");
      }
    };
    o.shuffle = false;
    Loader l(d, o);
    Batch b;
    CHECK(l.next(b));
    CHECK(contains(error_of([&] { l.next(b); }), "boom at 7"));
    CHECK(!l.next(b));
    // Destroying a loader whose producer is blocked on a full slot joins cleanly.
    {
      o.on_batch = nullptr;
      Loader slow(d, o);
      slow.start_epoch(0);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  TEST_CASE("loader: tabular data and augmented images stay in range") {
    DataSplit s = load_dataset("synthetic:mixture:3:5:300", 2);
    LoaderOptions o;
    o.batch_size = 64;
    Loader l(s.train, o);
    Batch b;
    REQUIRE(l.next(b));
    CHECK(b.x.shape() == Shape{64, 5});
    CHECK(b.x.to_vector()[0] == s.train.images.data<float>()[b.indices[0] * 5]);

    Dataset d = images(10);
    o.augment.crop_pad = 2;
    o.augment.flip = true;
    Loader a(d, o);
    REQUIRE(a.next(b));
    CHECK(b.x.shape() == Shape{10, 2, 5, 5});
    for (float v : b.x.to_vector()) CHECK((v >= 0.0f && v <= 1.0f));
    o.augment = {};
    o.augment.flip = true;
    CHECK(contains(error_of([&] { Loader t(s.train, o); }), "augment"));
  }

  TEST_CASE("transforms: crop with padding shifts content; flip is exact") {
    // One channel, 3x4, values 1..12.
    std::vector<float> img(12);
    for (int i = 0; i < 12; ++i) img[static_cast<size_t>(i)] = static_cast<float>(i + 1);
    std::vector<float> out(12);
    // pad 1, offsets (0, 2): content moves down one row and left one column.
    augment_sample(img.data(), out.data(), 1, 3, 4, 1, AugmentDraw{0, 2, false});
    CHECK(out == std::vector<float>{0, 0, 0, 0, 2, 3, 4, 0, 6, 7, 8, 0});
    // Centre offsets are the identity.
    augment_sample(img.data(), out.data(), 1, 3, 4, 1, AugmentDraw{1, 1, false});
    CHECK(out == img);
    // Flip only.
    augment_sample(img.data(), out.data(), 1, 3, 4, 0, AugmentDraw{0, 0, true});
    CHECK(out == std::vector<float>{4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9});
    // Batch form: flipping twice (same draw) restores the input exactly.
    Tensor x = Tensor::from_vector({1, 1, 3, 4}, img);
    Augment a;
    a.flip = true;
    int64_t idx = 0;
    while (!draw_augment(a, 5, 0, idx).flip) ++idx;
    Tensor y = augment_batch(augment_batch(x, {idx}, a, 5, 0), {idx}, a, 5, 0);
    CHECK(y.to_vector() == img);
    // Draws stay within [0, 2*pad] and cover the range.
    Augment c;
    c.crop_pad = 4;
    std::vector<int> hits(9, 0);
    for (int64_t i = 0; i < 2000; ++i) {
      const AugmentDraw dr = draw_augment(c, 1, 2, i);
      REQUIRE((dr.dy >= 0 && dr.dy <= 8 && dr.dx >= 0 && dr.dx <= 8));
      ++hits[static_cast<size_t>(dr.dy)];
    }
    for (int h : hits) CHECK(h > 100);
  }

  TEST_CASE("transforms: to_float01 and normalize") {
    Tensor u = Tensor::empty({1, 2, 1, 2}, DType::U8);
    const uint8_t v[4] = {0, 255, 51, 102};
    std::copy(v, v + 4, u.data<uint8_t>());
    Tensor f = to_float01(u);
    CHECK(f.to_vector() == std::vector<float>{0.0f, 1.0f, 0.2f, 0.4f});
    Tensor n = normalize(f, {0.5f, 0.2f}, {0.5f, 0.1f});
    const std::vector<float> r = n.to_vector();
    CHECK(r[0] == doctest::Approx(-1.0));
    CHECK(r[1] == doctest::Approx(1.0));
    CHECK(r[2] == doctest::Approx(0.0));
    CHECK(r[3] == doctest::Approx(2.0));
    CHECK(f.to_vector()[1] == 1.0f);  // the [0,1] tensor is untouched
    CHECK(contains(error_of([&] { normalize(f, {0.5f}, {0.5f}); }), "channels"));
    Dataset d;
    d.images = u;
    d.labels = Tensor::from_vector_i64({1}, {0});
    d.num_classes = 1;
    std::vector<float> mean, sd;
    channel_stats(d, mean, sd);
    CHECK(mean[0] == doctest::Approx(0.5));
    CHECK(sd[0] == doctest::Approx(0.5));
    CHECK(mean[1] == doctest::Approx(0.3));
  }
}
