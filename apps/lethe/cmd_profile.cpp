// `lethe profile`: per-layer cost (engine/profile/layer_profile.h) of plain training steps or of
// one unlearning method, under a layer scope, on a trained run (--from) or a fresh model
// (--model). Prints the table to stdout; writes DIR/profile.json, DIR/profile.csv, config.json.
//
// A short, representative run: `--method train` profiles --steps training steps of --batch
// images after --warmup unmeasured ones; an unlearning method runs as `lethe unlearn` runs it
// (every phase: AMUN's adversarial search, SalUn's saliency, the fine-tune), for --epochs 1 on
// a small split: the --forget set (default random:16) and --retain rows of the rest (default
// 112), so the epoch has two steps of 64; AMUN's search runs 10 steps per ε level and at most 3
// doublings unless --opt steps=/doublings= say otherwise. Before measuring, one forward/backward on
// a batch warms the allocator cache and the thread pool; the model's state is restored after it.
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>

#include "apps/lethe/commands.h"
#include "data/forget.h"
#include "data/loader.h"
#include "data/random.h"
#include "engine/core/parse.h"
#include "engine/io/run_dir.h"
#include "engine/nn/init.h"
#include "engine/ops/ops.h"
#include "engine/optim/optimizer.h"
#include "engine/profile/layer_profile.h"
#include "eval/report/svg.h"
#include "models/checkpoint.h"
#include "train/train_run.h"
#include "unlearn/method.h"
#include "unlearn/phases.h"
#include "unlearn/scope.h"

namespace lethe::app {

namespace {

struct ProfileOpts {
  std::string from, model, data, stem, method, layers = "all", forget = "random:16", out;
  int64_t width = 0, batch = 64, steps = 3, warmup = 1, retain = 112, epochs = 1;
  double lr = -1;
  uint64_t seed = 0;
  int threads = 0, depth = -1;
  bool overwrite = false;
  std::vector<std::string> opts;
};

// A seeded choice of n rows of `from` (all when n <= 0 or n >= size), kept in order.
std::vector<int64_t> choose(std::vector<int64_t> from, int64_t n, uint64_t key) {
  if (n <= 0 || n >= static_cast<int64_t>(from.size())) return from;
  data::shuffle_with_key(from, key);
  from.resize(n);
  std::sort(from.begin(), from.end());
  return from;
}

data::Batch make_batch(const data::Dataset& d, const std::vector<int64_t>& rows) {
  data::LoaderOptions lo;
  lo.shuffle = false;
  lo.background = false;
  data::Loader loader(d, rows, lo);
  return loader.make_batch(rows, 0);
}

// One unmeasured forward/backward (allocator cache, OpenMP pool); parameters, gradients and
// buffers (BN running statistics) are put back as they were.
void warm_up(models::Classifier& model, const train::Normalization& norm, const data::Batch& b) {
  std::vector<std::pair<Tensor, Tensor>> saved;
  for (auto& [n, t] : model.state_dict()) saved.push_back({t, t.clone()});
  model.train(true);
  Tensor loss = ops::cross_entropy(model.forward(norm.apply(b.x)), b.y);
  loss.backward();
  model.zero_grad();
  for (auto& [t, copy] : saved) Tensor(t).copy_(copy);
}

}  // namespace

Command add_profile(CLI::App& app) {
  auto* sub = app.add_subcommand("profile", "per-layer cost of training or an unlearning method");
  auto o = std::make_shared<ProfileOpts>();
  std::string methods = "train";
  for (const std::string& m : unlearn::method_names()) methods += "|" + m;
  auto* from = sub->add_option("--from", o->from, "a trained run directory");
  auto* model = sub->add_option("--model", o->model, "a fresh model: resnet18|34|50, vit-*, ...");
  from->excludes(model);
  sub->add_option("--data", o->data, "data SPEC (default: the run's, else fashion-mnist)");
  sub->add_option("--width", o->width, "ResNet width for --model (0 = default)");
  sub->add_option("--stem", o->stem, "ResNet stem for --model: cifar|imagenet");
  sub->add_option("--method", o->method, methods)->required();
  sub->add_option("--layers", o->layers, "all | head | last:K | prefix,prefix")
      ->capture_default_str();
  sub->add_option("--batch", o->batch)->capture_default_str();
  sub->add_option("--steps", o->steps, "measured training steps (--method train)")
      ->capture_default_str();
  sub->add_option("--warmup", o->warmup, "unmeasured training steps before (--method train)")
      ->capture_default_str();
  sub->add_option("--forget", o->forget, "forget SPEC (unlearning methods)")->capture_default_str();
  sub->add_option("--retain", o->retain, "retain rows used (0 = all)")->capture_default_str();
  sub->add_option("--epochs", o->epochs, "method epochs")->capture_default_str();
  sub->add_option("--lr", o->lr, "method default when absent");
  sub->add_option("--opt", o->opts, "method option KEY=VALUE (repeatable)");
  sub->add_option("--seed", o->seed)->capture_default_str();
  sub->add_option("--threads", o->threads, "0 = all cores");
  sub->add_option("--depth", o->depth, "table rows up to this module depth (-1 = all)");
  sub->add_option("--out", o->out, "output directory")->required();
  sub->add_flag("--overwrite", o->overwrite, "replace results in an existing --out");
  return {
      sub, [o] {
        namespace fs = std::filesystem;
        auto t_start = std::chrono::steady_clock::now();
        LETHE_CHECK(!o->from.empty() || !o->model.empty(),
                    "profile: one of --from DIR or --model NAME is required");
        LETHE_CHECK(o->batch >= 2, "--batch must be ≥ 2, got ", o->batch);
        LETHE_CHECK(o->steps >= 1, "--steps must be ≥ 1, got ", o->steps);
        LETHE_CHECK(o->warmup >= 0, "--warmup must be ≥ 0, got ", o->warmup);
        LETHE_CHECK(o->epochs >= 1, "--epochs must be ≥ 1, got ", o->epochs);
        const bool training = o->method == "train";
        std::unique_ptr<unlearn::Method> method;
        if (!training) method = unlearn::make_method(o->method);  // throws for a bad name
        LETHE_CHECK(!(o->method == "sisa" || o->method == "amnesiac") || !o->from.empty(),
                    "--method ", o->method, " needs --from a run trained with --", o->method,
                    " (its shards or recorded updates), not --model");
        if (o->threads > 0) omp_set_num_threads(o->threads);
        nlohmann::json extra = nlohmann::json::object();
        for (const std::string& kv : o->opts) {
          size_t eq = kv.find('=');
          LETHE_CHECK(eq != std::string::npos && eq > 0, "--opt ", kv, ": expected KEY=VALUE");
          std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
          double d = 0;
          if (parse_double(v, d))
            extra[k] = d;
          else
            extra[k] = v;
        }

        // A short run of the adversarial search (AMUN's default is 50 steps per ε level and up
        // to 12 doublings, minutes per stubborn sample on a ResNet-50): each step costs what it
        // costs, only fewer of them run. Explicit --opt values win.
        if (o->method == "amun" || o->method == "amun-salun") {
          if (!extra.contains("steps")) extra["steps"] = 10.0;
          if (!extra.contains("doublings")) extra["doublings"] = 3.0;
        }

        // The model, its data and normalization: a run's, or fresh ones.
        nlohmann::json orig_cfg;
        std::shared_ptr<models::Classifier> net;
        models::ModelConfig mc;
        train::Normalization norm;
        data::DataSplit ds;
        if (!o->from.empty()) {
          orig_cfg = io::read_json(o->from + "/config.json");
          models::Checkpoint ck = models::load_checkpoint(o->from + "/model.safetensors");
          net = ck.model;
          mc = ck.config;
          norm = train::Normalization::from_run(ck.metadata, orig_cfg);
          std::string spec = o->data.empty() ? orig_cfg.at("data").get<std::string>() : o->data;
          ds =
              train::load_training_data(spec, orig_cfg.value("seed", 0ull),
                                        o->data.empty() ? orig_cfg.value("subset", int64_t{0}) : 0);
        } else {
          train::TrainConfig tc;
          tc.model = o->model;
          tc.width = o->width;
          tc.stem = o->stem;
          tc.data = o->data.empty() ? "fashion-mnist" : o->data;
          tc.epochs = o->epochs;
          tc.batch = o->batch;
          tc.augment = "none";
          tc.seed = o->seed;
          ds = train::load_training_data(tc.data, tc.seed, 0);
          const data::Dataset& tr = ds.train;
          nlohmann::json ov = nlohmann::json::object();
          if (o->width > 0) ov["width"] = o->width;
          if (!o->stem.empty()) ov["stem"] = o->stem;
          mc = models::config_for(o->model, tr.is_image() ? tr.channels() : tr.width(),
                                  tr.is_image() ? tr.height() : 1, tr.num_classes, ov);
          nn::manual_seed(o->seed);
          net = models::build_model(mc);
          norm = train::Normalization::from_dataset(tr);
          orig_cfg = tc.to_json();
        }
        LETHE_CHECK(o->overwrite || !fs::exists(o->out + "/profile.json"), "--out ", o->out,
                    " already holds profile.json (use --overwrite to replace it)");
        io::prepare_run_dir(o->out, o->overwrite);
        unlearn::apply_scope(*net, o->layers);

        const data::Dataset& train = ds.train;
        profile::LayerProfiler prof(*net);
        unlearn::PhaseTimer timer;
        nlohmann::json run_info;
        if (training) {
          std::vector<int64_t> rows =
              choose(train::all_indices(train), (o->steps + o->warmup) * o->batch,
                     data::stream_key(o->seed, data::kProfileTrainRows));
          LETHE_CHECK(static_cast<int64_t>(rows.size()) >= 2 * (o->steps + o->warmup), "--steps ",
                      o->steps, ": the training set has only ", rows.size(), " rows");
          optim::SgdOptions so;
          so.lr = o->lr > 0 ? o->lr : 0.01;
          so.momentum = 0.9;
          so.weight_decay = 5e-4;
          optim::SGD opt(unlearn::trainable_parameters(*net), so);
          net->train(true);
          const int64_t n_steps = o->steps + o->warmup;
          for (int64_t s = 0; s < n_steps; ++s) {
            size_t lo = rows.size() * s / n_steps, hi = rows.size() * (s + 1) / n_steps;
            data::Batch b =
                make_batch(train, std::vector<int64_t>(rows.begin() + lo, rows.begin() + hi));
            const bool measured = s >= o->warmup;
            if (measured) prof.start();
            opt.zero_grad();
            Tensor loss = ops::cross_entropy(net->forward(norm.apply(b.x)), b.y);
            loss.backward();
            opt.step();
            if (measured) prof.stop();
            std::fprintf(stderr, "profile: train step %lld/%lld%s, loss %.4f\n",
                         static_cast<long long>(s + 1), static_cast<long long>(n_steps),
                         measured ? "" : " (warm-up)", loss.item());
          }
          run_info = {{"steps", o->steps}, {"warmup", o->warmup}, {"lr", so.lr}};
        } else {
          data::ForgetSplit full = data::make_forget_split(o->forget, train, o->seed);
          LETHE_CHECK(!full.forget.empty(), "--forget ", o->forget, ": selects no training sample");
          unlearn::UnlearnContext ctx;
          ctx.model = net;
          ctx.model_config = mc;
          ctx.train = &ds.train;
          ctx.test = &ds.test;
          ctx.split.forget = full.forget;
          ctx.split.retain =
              choose(full.retain, o->retain, data::stream_key(o->seed, data::kProfileRetainRows));
          ctx.norm = norm;
          ctx.original_config = orig_cfg;
          ctx.original_dir = o->from;
          ctx.out_dir = o->out;
          ctx.opt.epochs = o->epochs;
          ctx.opt.lr = o->lr;
          ctx.opt.batch = o->batch;
          ctx.opt.seed = o->seed;
          ctx.opt.layers = o->layers;
          ctx.opt.extra = extra;
          ctx.timer = &timer;
          if (o->warmup > 0) {
            std::vector<int64_t> wrows(
                ctx.split.retain.begin(),
                ctx.split.retain.begin() + std::min<size_t>(o->batch, ctx.split.retain.size()));
            if (wrows.size() >= 2) warm_up(*net, norm, make_batch(train, wrows));
          }
          std::fprintf(stderr, "profile: %s on %zu forget + %zu retain samples, scope %s\n",
                       o->method.c_str(), ctx.split.forget.size(), ctx.split.retain.size(),
                       o->layers.c_str());
          prof.start();
          method->run(ctx);
          prof.stop();
          run_info = {{"forget", o->forget},
                      {"forget_size", ctx.split.forget.size()},
                      {"retain_size", ctx.split.retain.size()},
                      {"epochs", o->epochs},
                      {"phases_s", timer.to_json()}};
          if (!ctx.report.empty()) run_info["method_report"] = ctx.report;
        }
        net->set_requires_grad(true);

        profile::ProfileReport rep = prof.report();
        nlohmann::json j = rep.to_json();
        j["method"] = o->method;
        j["layers"] = o->layers;
        j["model"] = mc.name;
        j["model_config"] = mc.to_json();
        j["batch"] = o->batch;
        j["run"] = run_info;
        j["device"] = "cpu";
        j["threads"] = omp_get_max_threads();
        const double steps = training ? static_cast<double>(o->steps)
                                      : static_cast<double>(std::max<int64_t>(rep.walks, 1));
        const profile::Cost& all = rep.modules.at(0).total;
        j["per_step"] = {{"steps", steps},
                         {"definition", training ? "training step" : "backward walk"},
                         {"wall_s", rep.wall_s / steps},
                         {"forward_s", rep.forward_s / steps},
                         {"backward_s", rep.backward_s / steps},
                         {"fwd_flops", all.fwd_flops / steps},
                         {"bwd_flops", all.bwd_flops / steps}};
        nlohmann::json cfg = {{"from", o->from},
                              {"model", o->model},
                              {"data", o->data},
                              {"width", o->width},
                              {"stem", o->stem},
                              {"method", o->method},
                              {"layers", o->layers},
                              {"batch", o->batch},
                              {"steps", o->steps},
                              {"warmup", o->warmup},
                              {"forget", o->forget},
                              {"retain", o->retain},
                              {"epochs", o->epochs},
                              {"lr", o->lr},
                              {"options", extra},
                              {"seed", o->seed},
                              {"model_config", mc.to_json()},
                              {"threads_used", omp_get_max_threads()},
                              {"build", train::build_info()}};
        io::write_json_atomic(o->out + "/config.json", cfg);
        io::write_text_atomic(o->out + "/profile.csv", rep.to_csv());
        io::write_json_atomic(o->out + "/profile.json", j);
        {  // profile.svg: forward and backward time of the model's children, stacked
          std::vector<std::string> names;
          std::vector<double> fwd, bwd;
          for (const profile::ModuleCost& mc : rep.modules)
            if (mc.depth == 1) {
              names.push_back(mc.name);
              fwd.push_back(1e3 * mc.total.fwd_s);
              bwd.push_back(1e3 * mc.total.bwd_s);
            }
          names.push_back("(outside modules)");
          fwd.push_back(0);
          bwd.push_back(1e3 * rep.outside.bwd_s);
          eval::svg::BarOptions bo;
          bo.title = "per-layer time: " + o->method + " --layers " + o->layers;
          bo.ylabel = "ms (whole run)";
          bo.stacked = true;
          io::write_text_atomic(
              o->out + "/profile.svg",
              eval::svg::bar_chart(names, {{"forward", fwd}, {"backward", bwd}}, bo));
        }

        std::string what = training ? std::to_string(o->steps) + " steps"
                                    : std::to_string(run_info["forget_size"].get<size_t>()) +
                                          " forget + " +
                                          std::to_string(run_info["retain_size"].get<size_t>()) +
                                          " retain, " + std::to_string(o->epochs) + " epoch(s)";
        std::printf("profile: %s, method %s, layers %s, batch %lld, %s\n", mc.name.c_str(),
                    o->method.c_str(), o->layers.c_str(), static_cast<long long>(o->batch),
                    what.c_str());
        std::printf("%s", rep.table(o->depth).c_str());
        if (!training) {
          std::printf("phases:");
          const nlohmann::json phases = timer.to_json();
          for (auto& [k, v] : phases.items())
            std::printf(" %s %.3f s;", k.c_str(), v.get<double>());
          std::printf("\n");
        }
        std::fprintf(
            stderr, "profile: wrote %s/profile.json and profile.csv in %.1f s\n", o->out.c_str(),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
        return 0;
      }};
}

}  // namespace lethe::app
