#include "train/memory_estimate.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engine/core/allocator.h"
#include "engine/core/error.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"

namespace lethe::train {

namespace {

std::string human(size_t bytes) {
  char b[32];
  const double v = static_cast<double>(bytes);
  if (v >= 1024.0 * 1024 * 1024)
    std::snprintf(b, sizeof b, "%.1f GiB", v / (1024.0 * 1024 * 1024));
  else if (v >= 1024.0 * 1024)
    std::snprintf(b, sizeof b, "%.1f MiB", v / (1024.0 * 1024));
  else
    std::snprintf(b, sizeof b, "%.1f KiB", v / 1024.0);
  return b;
}

// Peak allocator bytes above the current level over one forward + backward of `batch` samples.
size_t probe_step(models::Classifier& m, const data::Dataset& d, int64_t batch) {
  Shape shape =
      d.is_image() ? Shape{batch, d.channels(), d.height(), d.width()} : Shape{batch, d.width()};
  Tensor x = Tensor::zeros(shape);
  Tensor y = Tensor::zeros({batch}, DType::I64);
  for (auto& p : m.parameters()) p.zero_grad();
  Allocator& a = Allocator::instance();
  const size_t base = a.stats().in_use_bytes;
  a.reset_peak();
  ops::cross_entropy(m.forward(x), y).backward();
  const size_t peak = a.stats().peak_bytes;
  for (auto& p : m.parameters()) p.zero_grad();
  return peak > base ? peak - base : 0;
}

}  // namespace

MemoryEstimate estimate_step_memory(const models::ModelConfig& mc, const data::Dataset& d,
                                    int64_t batch, int optimizer_slots) {
  MemoryEstimate e;
  e.batch = std::max<int64_t>(batch, 1);
  nn::Generator& g = nn::default_generator();
  const uint64_t seed = g.seed(), counter = g.counter();
  size_t p2 = 0, p4 = 0, params = 0;
  {
    std::shared_ptr<models::Classifier> m = models::build_model(mc);
    m->train(true);
    for (auto& p : m->parameters()) params += p.nbytes();
    p2 = probe_step(*m, d, 2);
    p4 = probe_step(*m, d, 4);
  }
  g.restore(seed, counter);  // the probe's draws (init, dropout) are not the run's
  Allocator::instance().empty_cache();
  Allocator::instance().reset_peak();
  const size_t grow = p4 > p2 ? (p4 - p2) / 2 : 0;
  const size_t sample_in = static_cast<size_t>(d.sample_numel()) * sizeof(float) + sizeof(int64_t);
  e.per_sample_bytes = grow + 2 * sample_in;  // + the batch being trained and the one in flight
  const size_t fixed_step = p2 > 2 * grow ? p2 - 2 * grow : 0;
  e.fixed_bytes = params * (1 + static_cast<size_t>(std::max(optimizer_slots, 0))) + fixed_step;
  return e;
}

size_t memory_limit(size_t max_memory, std::string* source) {
  if (max_memory > 0) {
    if (source) *source = "--max-memory";
    return max_memory;
  }
  std::ifstream f("/proc/meminfo");
  std::string key, unit;
  size_t kib = 0;
  while (f >> key >> kib) {
    std::getline(f, unit);
    if (key == "MemAvailable:") {
      if (source) *source = "available memory (MemAvailable)";
      return kib * 1024;
    }
  }
  if (source) *source = "";
  return 0;
}

void check_step_memory(const MemoryEstimate& e, size_t max_memory, const std::string& who) {
  std::string source;
  const size_t limit = memory_limit(max_memory, &source);
  if (limit == 0 || e.total() <= limit) return;
  LETHE_FAIL(who, ": --batch ", e.batch, " needs an estimated ", human(e.total()),
             " per training step (", human(e.fixed_bytes), " for the model, its gradients and ",
             "optimizer state + ", human(e.per_sample_bytes), " per sample × ", e.batch,
             "), more than the ", human(limit), " of ", source,
             "; lower --batch (or raise --max-memory)");
}

size_t parse_memory_size(const std::string& text) {
  std::istringstream in(text);
  double v = 0;
  std::string unit;
  in >> v;
  const bool number = !in.fail();
  in >> unit;
  double scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "K" || unit == "KiB" || unit == "k")
    scale = 1024.0;
  else if (unit == "M" || unit == "MiB")
    scale = 1024.0 * 1024;
  else if (unit == "G" || unit == "GiB")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TiB")
    scale = 1024.0 * 1024 * 1024 * 1024;
  std::string rest;
  LETHE_CHECK(number && scale > 0 && !(in >> rest) && std::isfinite(v) && v > 0 && v * scale < 1e19,
              "--max-memory: '", text, "' is not a size (e.g. 512M, 4G, 1.5GiB, or bytes)");
  return static_cast<size_t>(v * scale);
}

}  // namespace lethe::train
