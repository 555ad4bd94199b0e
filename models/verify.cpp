// verify_reference: rebuilds a model from a reference file and compares it with PyTorch's run.
#include "models/verify.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "engine/autograd/autograd.h"
#include "engine/io/tensor_io.h"
#include "engine/ops/ops.h"
#include "engine/optim/optimizer.h"
#include "models/checkpoint.h"

namespace lethe::models {

namespace {

constexpr double kTolForward = 1e-4, kTolGrad = 1e-3, kTolStats = 1e-4, kTolSgd = 1e-3;
// Float64-truth files: within this multiple of PyTorch float32's own error, or kTruthFloor.
constexpr double kTruthFactor = 4, kTruthFloor = 1e-5;

bool starts_with(const std::string& s, const std::string& p) {
  return s.compare(0, p.size(), p) == 0;
}

// Folds one tensor comparison into the group (shapes must match; [1] vs [] is the same scalar).
void compare(VerifyGroup& g, const std::string& name, const Tensor& ours, const Tensor& ref) {
  if (!ours.defined()) {
    if (g.problem.empty()) g.problem = "no value for '" + name + "'";
    return;
  }
  if (ours.shape() != ref.shape() && !(ours.numel() == 1 && ref.numel() == 1)) {
    if (g.problem.empty())
      g.problem = "'" + name + "' has shape " + shape_str(ours.shape()) + ", reference " +
                  shape_str(ref.shape());
    return;
  }
  std::vector<double> a = ours.to_vector_f64(), b = ref.to_vector_f64();
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = std::fabs(a[i] - b[i]);
    if (std::isnan(d)) d = std::numeric_limits<double>::infinity();
    diff = std::max(diff, d);
    scale = std::max(scale, std::fabs(b[i]));
  }
  double rel = scale > 0 ? diff / scale : diff;
  ++g.tensors;
  if (g.tensors == 1 || rel > g.rel_err) {
    g.rel_err = rel;
    g.worst = name;
  }
}

VerifyGroup group(const std::string& name, double tol) {
  VerifyGroup g;
  g.name = name;
  g.tol = tol;
  return g;
}

}  // namespace

bool VerifyReport::ok() const {
  for (const auto& g : groups)
    if (!g.ok()) return false;
  return !groups.empty();
}

std::string VerifyReport::to_string() const {
  std::string s = path + ": " + config.to_json().dump() + "\n";
  char line[512];
  if (float64_truth)
    s += "  float64 truth: errors from the float64 result; PyTorch float32's own error beside "
         "ours; tol = max(" +
         std::to_string(static_cast<int>(kTruthFactor)) + " x PyTorch's, 1e-05)\n";
  for (const auto& g : groups) {
    if (float64_truth) {
      char torch[32] = "       n/a";
      if (g.torch_f32_err >= 0) std::snprintf(torch, sizeof torch, "%.2e", g.torch_f32_err);
      const double ratio = g.torch_f32_err > 0 ? g.rel_err / g.torch_f32_err : 0;
      std::snprintf(line, sizeof line,
                    "  %-12s %3d tensor%s  ours %.2e  pytorch f32 %s  (x%5.1f)  (tol %.2e)  %s  "
                    "%s\n",
                    g.name.c_str(), g.tensors, g.tensors == 1 ? " " : "s", g.rel_err, torch, ratio,
                    g.tol, g.ok() ? "ok  " : "FAIL",
                    g.problem.empty() ? g.worst.c_str() : g.problem.c_str());
    } else {
      std::snprintf(line, sizeof line, "  %-12s %3d tensor%s  rel err %.2e  (tol %.0e)  %s  %s\n",
                    g.name.c_str(), g.tensors, g.tensors == 1 ? " " : "s", g.rel_err, g.tol,
                    g.ok() ? "ok  " : "FAIL",
                    g.problem.empty() ? g.worst.c_str() : g.problem.c_str());
    }
    s += line;
  }
  s += ok() ? "PASS\n" : "FAIL\n";
  return s;
}

VerifyReport verify_reference(const std::string& path) {
  io::NamedTensors f = io::load_tensors(path);
  auto need = [&](const std::string& n) -> const Tensor& {
    auto it = f.tensors.find(n);
    LETHE_CHECK(it != f.tensors.end(), path, ": not a model reference file (no tensor '", n, "')");
    return it->second;
  };
  VerifyReport rep;
  rep.path = path;
  rep.config = config_from_metadata(f.metadata, path);
  const Tensor x = need("input.x"), y = need("input.y");
  const Tensor eval_logits = need("eval.logits"), train_logits = need("train.logits");
  const Tensor train_loss = need("train.loss");

  std::shared_ptr<Classifier> model;
  try {
    model = build_model(rep.config);
  } catch (const Error& e) {
    LETHE_FAIL(path, ": cannot build the model of its 'model' metadata: ", e.what());
  }
  std::map<std::string, Tensor> params, grads, after_train, after_sgd;
  for (const auto& [n, t] : f.tensors) {
    if (starts_with(n, "param.")) params[n.substr(6)] = t;
    if (starts_with(n, "grad.") && n != "grad.input") grads[n.substr(5)] = t;
    if (starts_with(n, "after_train.")) after_train[n.substr(12)] = t;
    if (starts_with(n, "after_sgd.")) after_sgd[n.substr(10)] = t;
  }
  LETHE_CHECK(!params.empty(), path, ": not a model reference file (no 'param.*' tensors)");
  load_model_state(*model, params, path);

  // Eval mode: running statistics, no graph.
  VerifyGroup g_eval = group("eval.logits", kTolForward);
  {
    NoGradGuard ng;
    model->eval();
    compare(g_eval, "eval.logits", model->forward(x), eval_logits);
  }

  // Train mode: batch statistics, mean cross-entropy, backward to parameters and the input.
  model->train();
  Tensor xin = x.clone();
  xin.set_requires_grad(true);
  Tensor logits = model->forward(xin);
  Tensor loss = ops::cross_entropy(logits, y, ops::Reduction::Mean);
  VerifyGroup g_train = group("train.logits", kTolForward);
  compare(g_train, "train.logits", logits, train_logits);
  VerifyGroup g_loss = group("train.loss", kTolForward);
  compare(g_loss, "train.loss", loss, train_loss);
  loss.backward();

  VerifyGroup g_grad = group("grad.params", kTolGrad);
  for (const auto& [n, ref] : grads) {
    Tensor p = model->find_tensor(n);
    if (!p.defined()) {
      if (g_grad.problem.empty()) g_grad.problem = "reference gradient of unknown '" + n + "'";
      continue;
    }
    compare(g_grad, "grad." + n, p.grad(), ref);
  }
  if (grads.empty()) g_grad.problem = "no 'grad.*' tensors in the file";
  VerifyGroup g_gin = group("grad.input", kTolGrad);
  if (f.tensors.count("grad.input"))
    compare(g_gin, "grad.input", xin.grad(), f.tensors.at("grad.input"));

  // Running statistics after that one train forward (only models with BatchNorm have them).
  VerifyGroup g_stats = group("after_train", kTolStats);
  for (const auto& [n, ref] : after_train)
    compare(g_stats, "after_train." + n, model->find_tensor(n), ref);

  // One SGD step from param.* with those gradients; hyperparameters from the "sgd" metadata.
  optim::SgdOptions so;
  so.lr = 0.1;
  so.momentum = 0.9;
  so.weight_decay = 5e-4;
  if (auto it = f.metadata.find("sgd"); it != f.metadata.end()) {
    try {
      auto j = nlohmann::json::parse(it->second);
      so.lr = j.value("lr", so.lr);
      so.momentum = j.value("momentum", so.momentum);
      so.weight_decay = j.value("weight_decay", so.weight_decay);
      so.dampening = j.value("dampening", so.dampening);
      so.nesterov = j.value("nesterov", so.nesterov);
    } catch (const nlohmann::json::exception& e) {
      LETHE_FAIL(path, ": bad 'sgd' metadata: ", e.what());
    }
  }
  VerifyGroup g_sgd = group("after_sgd", kTolSgd);
  {
    optim::SGD sgd(model->parameters(), so);
    sgd.step();
    for (const auto& [n, ref] : after_sgd)
      compare(g_sgd, "after_sgd." + n, model->find_tensor(n), ref);
  }

  rep.groups = {g_eval, g_train, g_loss, g_grad};
  if (f.tensors.count("grad.input")) rep.groups.push_back(g_gin);
  if (!after_train.empty()) rep.groups.push_back(g_stats);
  if (!after_sgd.empty()) rep.groups.push_back(g_sgd);

  // Float64 truth: each group's tolerance from PyTorch float32's recorded error on it.
  if (auto it = f.metadata.find("truth"); it != f.metadata.end()) {
    LETHE_CHECK(it->second == "float64", path, ": metadata 'truth' is '", it->second,
                "'; only \"float64\" is known");
    rep.float64_truth = true;
    nlohmann::json errs;
    try {
      auto e = f.metadata.find("torch_f32_err");
      LETHE_CHECK(e != f.metadata.end(), path,
                  ": a float64-truth file needs 'torch_f32_err' metadata");
      errs = nlohmann::json::parse(e->second);
    } catch (const nlohmann::json::exception& e) {
      LETHE_FAIL(path, ": bad 'torch_f32_err' metadata: ", e.what());
    }
    LETHE_CHECK(errs.is_object(), path, ": 'torch_f32_err' metadata is not a JSON object");
    for (auto& g : rep.groups) {
      auto e = errs.find(g.name);
      if (e == errs.end() || !e->is_number()) {
        if (g.problem.empty()) g.problem = "no 'torch_f32_err' entry for this group";
        continue;
      }
      g.torch_f32_err = e->get<double>();
      g.tol = std::max(kTruthFactor * g.torch_f32_err, kTruthFloor);
    }
  }
  return rep;
}

}  // namespace lethe::models
