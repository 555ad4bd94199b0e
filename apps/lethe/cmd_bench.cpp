// `lethe bench`: training-step and inference throughput of a model on random data, as JSON
// (step time median/min/max over the measured steps after warm-up, images/s, peak memory,
// the GEMM ISA path, the commit). Progress on stderr.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "apps/lethe/commands.h"
#include "engine/core/allocator.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"
#include "engine/optim/optimizer.h"
#include "models/registry.h"
#include "train/train_run.h"

namespace lethe::app {

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
}  // namespace

Command add_bench(CLI::App& app) {
  auto* sub = app.add_subcommand("bench", "training-step and inference throughput (JSON)");
  struct Opts {
    std::string model = "resnet18", stem;
    int64_t width = 0, batch = 64, image = 32, channels = 3, classes = 10, steps = 5, warmup = 2;
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--model", o->model)->capture_default_str();
  sub->add_option("--width", o->width, "ResNet width (0 = default)");
  sub->add_option("--stem", o->stem, "ResNet stem: cifar|imagenet");
  sub->add_option("--batch", o->batch)->capture_default_str();
  sub->add_option("--image", o->image, "image size")->capture_default_str();
  sub->add_option("--channels", o->channels)->capture_default_str();
  sub->add_option("--classes", o->classes)->capture_default_str();
  sub->add_option("--steps", o->steps, "measured steps (≥ 5)")->capture_default_str();
  sub->add_option("--warmup", o->warmup)->capture_default_str();
  sub->add_option("--threads", o->threads, "0 = all cores")->capture_default_str();
  return {sub, [o] {
            LETHE_CHECK(o->steps >= 1 && o->batch >= 2, "bench: --steps ≥ 1 and --batch ≥ 2");
            if (o->threads > 0) omp_set_num_threads(o->threads);
            nlohmann::json ov = nlohmann::json::object();
            if (o->width > 0) ov["width"] = o->width;
            if (!o->stem.empty()) ov["stem"] = o->stem;
            models::ModelConfig mc =
                models::config_for(o->model, o->channels, o->image, o->classes, ov);
            nn::manual_seed(0);
            auto model = models::build_model(mc);
            std::vector<Tensor> params;
            for (auto& [n, p] : model->named_parameters()) params.push_back(p);
            optim::SgdOptions so;
            so.lr = 0.01;
            so.momentum = 0.9;
            so.weight_decay = 5e-4;
            optim::SGD opt(params, so);
            Tensor x = Tensor::uniform({o->batch, o->channels, o->image, o->image}, 0, 1, 1);
            std::vector<int64_t> yv(o->batch);
            for (int64_t i = 0; i < o->batch; ++i) yv[i] = i % o->classes;
            Tensor y = Tensor::from_vector_i64({o->batch}, yv);

            auto train_step = [&] {
              model->train(true);
              opt.zero_grad();
              Tensor loss = ops::cross_entropy(model->forward(x), y);
              loss.backward();
              opt.step();
            };
            auto infer_step = [&] {
              model->train(false);
              NoGradGuard ng;
              model->forward(x);
            };
            auto measure = [&](auto step, const char* what) {
              for (int64_t i = 0; i < o->warmup; ++i) step();
              std::vector<double> ts;
              for (int64_t i = 0; i < o->steps; ++i) {
                double t0 = now_s();
                step();
                ts.push_back(now_s() - t0);
                std::fprintf(stderr, "bench %s step %lld/%lld: %.3f s\n", what,
                             static_cast<long long>(i + 1), static_cast<long long>(o->steps),
                             ts.back());
              }
              return summarize(ts);
            };
            Allocator::instance().reset_peak();
            Timing tt = measure(train_step, "train");
            size_t peak_train = Allocator::instance().stats().peak_bytes;
            Timing ti = measure(infer_step, "infer");
            nlohmann::json j;
            j["model"] = o->model;
            j["model_config"] = mc.to_json();
            j["batch"] = o->batch;
            j["image"] = o->image;
            j["threads"] = omp_get_max_threads();
            j["train_step_s"] = {{"median", tt.median}, {"min", tt.min}, {"max", tt.max}};
            j["train_images_per_s"] = o->batch / tt.median;
            j["infer_step_s"] = {{"median", ti.median}, {"min", ti.min}, {"max", ti.max}};
            j["infer_images_per_s"] = o->batch / ti.median;
            j["peak_tensor_bytes_train"] = peak_train;
            j["build"] = train::build_info();
            std::printf("%s\n", j.dump(2).c_str());
            return 0;
          }};
}

}  // namespace lethe::app
