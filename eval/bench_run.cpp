#include "eval/bench_run.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include "data/normalization.h"
#include "engine/backend/device_options.h"
#include "engine/backend/system_info.h"
#include "engine/core/allocator.h"
#include "engine/core/uploader.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"
#include "engine/optim/optimizer.h"
#include "engine/profile/layer_profile.h"
#include "eval/attacks/pgd.h"
#include "kernels/cpu/gemm.h"
#include "kernels/emu/bus.h"
#include "models/registry.h"

namespace lethe::eval {

namespace {
struct Timing {
  double median = 0, min = 0, max = 0;
};
Timing summarize(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t.front(), t.back()};
}
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
// The process's peak resident set (VmHWM) in bytes, 0 where /proc is absent.
size_t peak_rss_bytes() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}
}  // namespace

nlohmann::json run_bench(const BenchRequest& req) {
  LETHE_CHECK(req.steps >= 5, "bench: --steps must be ≥ 5 (median, min and max of at least five)");
  LETHE_CHECK(req.batch >= 2, "bench: --batch must be ≥ 2");
  LETHE_CHECK(req.warmup >= 0 && req.pgd_steps >= 0, "bench: --warmup and --pgd-steps must be ≥ 0");
  if (req.threads > 0) omp_set_num_threads(req.threads);
  nlohmann::json ov = nlohmann::json::object();
  if (req.width > 0) ov["width"] = req.width;
  if (!req.stem.empty()) ov["stem"] = req.stem;
  models::ModelConfig mc = models::config_for(req.model, req.channels, req.image, req.classes, ov);
  nn::manual_seed(0);
  auto model = models::build_model(mc);
  std::vector<Tensor> params;
  int64_t param_count = 0;
  for (auto& [n, p] : model->named_parameters()) {
    params.push_back(p);
    param_count += p.numel();
  }
  optim::SGD opt(params, {.lr = 0.01, .momentum = 0.9, .weight_decay = 5e-4});
  Tensor x = Tensor::uniform({req.batch, req.channels, req.image, req.image}, 0, 1, 1);
  std::vector<int64_t> yv(req.batch);
  for (int64_t i = 0; i < req.batch; ++i) yv[i] = i % req.classes;
  Tensor y = Tensor::from_vector_i64({req.batch}, yv);
  // A device-resident model: the batch is uploaded per training step (as train_epoch does) and
  // stays resident for inference and the attack.
  const Device dev = device_by_name(req.device);
  std::optional<DeviceUploader> uploader;
  const Tensor x_host = x, y_host = y;
  if (!dev.is_cpu()) {
    model->to(dev);
    uploader.emplace(dev);
    x = x.to(dev);
    y = y.to(dev);
  }

  auto train_step = [&] {
    model->train(true);
    opt.zero_grad();
    Tensor xb = x, yb = y;
    if (uploader) {
      std::vector<Tensor> up = uploader->upload({x_host, y_host});
      xb = up[0];
      yb = up[1];
    }
    Tensor loss = ops::cross_entropy(model->forward(xb), yb);
    loss.backward();
    opt.step();
    (void)loss.item();  // the loss read-back of a step
  };
  auto infer_step = [&] {
    model->train(false);
    NoGradGuard ng;
    model->forward(x);
  };
  auto measure = [&](auto step, const char* what) {
    for (int64_t i = 0; i < req.warmup; ++i) step();
    std::vector<double> ts;
    for (int64_t i = 0; i < req.steps; ++i) {
      double t0 = now_s();
      step();
      ts.push_back(now_s() - t0);
      std::fprintf(stderr, "bench %s step %lld/%lld: %.3f s\n", what, static_cast<long long>(i + 1),
                   static_cast<long long>(req.steps), ts.back());
    }
    return summarize(ts);
  };
  Allocator::instance().reset_peak();
  Timing tt = measure(train_step, "train");
  size_t peak_train = Allocator::instance().stats().peak_bytes;
  size_t rss_train = peak_rss_bytes();
  Timing ti = measure(infer_step, "infer");
  // FLOPs of one step, counted by the profiler (not timed: it observes every node).
  double train_flops = 0, infer_flops = 0;
  {
    profile::LayerProfiler prof(*model);
    prof.start();
    train_step();
    prof.stop();
    const profile::ModuleCost& root = prof.report().modules.front();
    train_flops = root.total.fwd_flops + root.total.bwd_flops;
    infer_flops = root.total.fwd_flops;
  }
  // AMUN's adversarial search is PGD on the model in eval mode.
  nlohmann::json pgd_j = nullptr;
  if (req.pgd_steps > 0) {
    model->train(false);
    PgdOptions po;
    po.steps = req.pgd_steps;
    data::Normalization identity;
    auto pgd_step = [&] { pgd(*model, identity, x, y, po); };
    Timing tp = measure(pgd_step, "pgd");
    pgd_j = {{"steps", req.pgd_steps},
             {"attack_s", {{"median", tp.median}, {"min", tp.min}, {"max", tp.max}}},
             {"pgd_steps_per_image_per_s", req.batch * req.pgd_steps / tp.median}};
  }
  // What one training step moves over the emulated bus (emu only: the real runtime has no
  // counters).
  nlohmann::json bus_j = nullptr;
  if (req.device == "emu") {
    emu::BusCounters b0 = emu::bus_counters();
    train_step();
    emu::BusCounters b = emu::bus_counters() - b0;
    bus_j = {{"h2d_bytes", b.h2d_bytes}, {"h2d_copies", b.h2d_copies},
             {"d2h_bytes", b.d2h_bytes}, {"d2h_copies", b.d2h_copies},
             {"d2d_bytes", b.d2d_bytes}, {"async_copies", b.async_copies},
             {"syncs", b.syncs},         {"batch_bytes", x_host.nbytes() + y_host.nbytes()}};
    std::fprintf(
        stderr,
        "bench emu bus per training step: H2D %llu B in %llu copies (batch + labels %zu "
        "B), D2H %llu B in %llu copies, %llu syncs\n",
        static_cast<unsigned long long>(b.h2d_bytes), static_cast<unsigned long long>(b.h2d_copies),
        x_host.nbytes() + y_host.nbytes(), static_cast<unsigned long long>(b.d2h_bytes),
        static_cast<unsigned long long>(b.d2h_copies), static_cast<unsigned long long>(b.syncs));
  }
  nlohmann::json j;
  j["model"] = req.model;
  j["device"] = req.device;
  j["bus_per_train_step"] = bus_j;
  j["model_config"] = mc.to_json();
  j["params"] = param_count;
  j["batch"] = req.batch;
  j["image"] = req.image;
  j["threads"] = omp_get_max_threads();
  j["train_step_s"] = {{"median", tt.median}, {"min", tt.min}, {"max", tt.max}};
  j["train_images_per_s"] = req.batch / tt.median;
  j["infer_step_s"] = {{"median", ti.median}, {"min", ti.min}, {"max", ti.max}};
  j["infer_images_per_s"] = req.batch / ti.median;
  j["train_gflop_per_step"] = train_flops / 1e9;
  j["train_gflops"] = train_flops / 1e9 / tt.median;
  j["infer_gflops"] = infer_flops / 1e9 / ti.median;
  j["peak_tensor_bytes_train"] = peak_train;
  j["peak_rss_bytes_train"] = rss_train;
  j["pgd"] = pgd_j;
  j["isa"] = kernels::cpu::gemm_isa_name(kernels::cpu::gemm_isa());
  j["build"] = build_info();
  j["device_options"] = to_json(device_options());
  return j;
}

}  // namespace lethe::eval
