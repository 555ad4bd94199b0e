// The memory estimate that refuses a batch before allocating it (train/memory_estimate.h): it
// must be near what a training step really takes, leave the run's random draws alone, and refuse
// in one line naming the estimate.
#include <doctest/doctest.h>

#include <string>

#include "data/spec.h"
#include "engine/core/allocator.h"
#include "engine/core/error.h"
#include "engine/nn/init.h"
#include "engine/optim/optimizer.h"
#include "models/registry.h"
#include "train/memory_estimate.h"
#include "train/trainer.h"

using namespace lethe;

namespace {

// Allocator peak above the level before an epoch of two steps (batch = half the rows), momentum
// SGD: the second step is the steady state the estimate is for (momentum buffers exist while
// the backward allocates gradients).
size_t measured_step(const data::Dataset& d, const models::ModelConfig& mc) {
  nn::manual_seed(1);
  Allocator& a = Allocator::instance();
  a.empty_cache();
  const size_t base = a.stats().in_use_bytes;
  a.reset_peak();
  size_t peak = 0;
  {
    auto m = models::build_model(mc);
    optim::SgdOptions so;
    so.momentum = 0.9;
    optim::SGD opt(m->parameters(), so);
    train::EpochOptions eo;
    eo.batch = d.size() / 2;
    train::train_epoch(*m, opt, d, data::all_indices(d), data::Normalization::from_dataset(d), eo,
                       0, nullptr);
    peak = a.stats().peak_bytes;
  }
  return peak - base;
}

}  // namespace

TEST_SUITE("train") {
  TEST_CASE("memory estimate: within 30% of a real step's allocator peak, and draws nothing") {
    struct Case {
      std::string data, model;
      nlohmann::json overrides;
      int64_t rows;
    };
    for (const Case& c : {Case{"synthetic:mixture:4:64:400", "mlp", {}, 256},
                          Case{"fashion-mnist", "resnet18", {{"width", 8}}, 128}}) {
      if (c.data == "fashion-mnist" && !std::filesystem::exists(data::kFashionMnistDir)) {
        FAIL("Fashion-MNIST is not installed in ", data::kFashionMnistDir, " (make deps)");
      }
      data::DataSplit ds = data::load_dataset(c.data, 0);
      std::vector<int64_t> idx(static_cast<size_t>(c.rows));
      for (int64_t i = 0; i < c.rows; ++i) idx[i] = i;
      data::Dataset d = ds.train.subset(idx);
      const int64_t in = d.is_image() ? d.channels() : d.width();
      models::ModelConfig mc = models::config_for(c.model, in, d.is_image() ? d.height() : 1,
                                                  d.num_classes, c.overrides);
      nn::manual_seed(42);
      nn::default_generator().next_key();
      const uint64_t counter = nn::default_generator().counter();
      train::MemoryEstimate e = train::estimate_step_memory(mc, d, c.rows / 2, 1);
      CHECK(nn::default_generator().seed() == 42);  // the probe's init draws were given back
      CHECK(nn::default_generator().counter() == counter);
      const size_t real = measured_step(d, mc);
      const double ratio = static_cast<double>(e.total()) / static_cast<double>(real);
      MESSAGE(c.model, " batch ", c.rows / 2, ": estimate ", e.total(), " B (fixed ", e.fixed_bytes,
              " + ", e.per_sample_bytes, " per sample), measured ", real, " B, ratio ", ratio);
      CHECK(ratio > 0.7);
      CHECK(ratio < 1.3);
    }
  }

  TEST_CASE("memory estimate: --max-memory sizes and the refusal line") {
    CHECK(train::parse_memory_size("512M") == 512ull << 20);
    CHECK(train::parse_memory_size("4G") == 4ull << 30);
    CHECK(train::parse_memory_size("1.5GiB") == 3ull << 29);
    CHECK(train::parse_memory_size("2000") == 2000);
    for (const char* bad : {"", "G", "4X", "-1G", "4G extra", "nan", "0"})
      CHECK_THROWS_WITH_AS(train::parse_memory_size(bad), doctest::Contains("--max-memory"), Error);
    train::MemoryEstimate e;
    e.fixed_bytes = 1 << 20;
    e.per_sample_bytes = 1 << 20;
    e.batch = 100;
    CHECK_NOTHROW(train::check_step_memory(e, 200ull << 20, "train"));
    CHECK_THROWS_WITH_AS(train::check_step_memory(e, 50ull << 20, "train"),
                         doctest::Contains("train: --batch 100 needs an estimated 101.0 MiB"),
                         Error);
    std::string source;
    CHECK(train::memory_limit(0, &source) > 0);  // MemAvailable on Linux
    CHECK(source == "available memory (MemAvailable)");
  }
}
