#include "unlearn/linear_removal.h"

#include <cmath>
#include <cstdio>

#include "unlearn/scope.h"

namespace lethe::unlearn {

void LinearRemoval::run(UnlearnContext& ctx, const std::string& method) {
  LETHE_CHECK(!ctx.opt.no_retain && !ctx.split.retain.empty(), "--method ", method,
              " needs the retain set (its Hessian is the rest's)");
  models::Classifier& model = *ctx.model;
  // The step changes the head alone; anything else trainable would be left stale.
  for (const std::string& n : apply_scope(model, ctx.opt.layers))
    LETHE_CHECK(n.rfind(model.head_prefix() + ".", 0) == 0, "--method ", method,
                " changes the linear head only; parameter ", n, " is in --layers ", ctx.opt.layers,
                " (use --layers head)");
  const int64_t classes = ctx.train->num_classes;
  if (!all_) {
    auto s = ctx.timer->scope("features");
    all_ = train::head_data(model, *ctx.train, data::all_indices(*ctx.train), ctx.norm);
  }
  train::HeadObjective obj =
      train::head_objective_of_run(ctx.original_config, classes == 2 ? all_->p : classes * all_->p);
  obj.l2 = ctx.opt.extra_or("l2", obj.l2);
  LETHE_CHECK(obj.l2 > 0, "--method ", method,
              ": the L2 coefficient is 0 (train with --wd > 0 "
              "or give --opt l2=L)");
  LETHE_CHECK(!fair_ || obj.fair.active(), "--method ", method,
              ": the original run has no fairness penalty (train it with --fair eo:lambda=L, or "
              "use --method newton)");
  const bool trained_fair = obj.fair.active();
  train::HeadObjective own = obj;
  own.with_fair = fair_;
  const std::string form = ctx.opt.extra.value("form", std::string("removal"));
  LETHE_CHECK(form == "removal" || form == "retain", "--opt form=", form,
              ": use removal or retain");
  if (theta_.empty()) {
    theta_ = train::read_head(model, classes);
    // The solver's float64 θ when the run kept it and it is this checkpoint's (not a stale file).
    std::vector<double> f64 = train::load_head_f64(ctx.original_dir);
    bool same = f64.size() == theta_.size();
    for (size_t i = 0; same && i < f64.size(); ++i)
      same = std::fabs(f64[i] - theta_[i]) <= 1e-5 * (1 + std::fabs(f64[i]));
    if (same) theta_ = f64;
  }
  std::vector<int64_t> before_rows = ctx.split.retain;
  before_rows.insert(before_rows.end(), ctx.split.forget.begin(), ctx.split.forget.end());
  const train::HeadData before = all_->rows(before_rows), after = all_->rows(ctx.split.retain);

  train::RemovalStep step;
  {
    auto s = ctx.timer->scope("newton");
    step = train::newton_removal(own, before, after, theta_, form == "retain");
  }
  theta_ = step.theta;
  train::write_head(model, theta_, classes);
  train::save_head_f64(ctx.out_dir, theta_);
  // The residual that certification is about: the gradient of the objective the model was
  // trained with (fairness term included), on the rest, at the new θ.
  std::vector<double> g;
  train::head_objective(obj, after, theta_, &g);
  double gn = 0;
  for (double v : g) gn += v * v;
  const double train_residual = std::sqrt(gn) * static_cast<double>(after.n);
  // Residuals add up over requests (Guo et al., Sec. 3): the bound after r requests is the
  // first start gradient (≈ 0 at the solver's optimum) plus every step's remainder bound. (Each
  // request's own `bound` counts its start gradient, which the previous requests' terms cover.)
  if (requests_ == 0) accumulated_ = step.start_grad_norm;
  ++requests_;
  if (step.remainder_bound >= 0) accumulated_ += step.remainder_bound;

  nlohmann::json r = {{"request", requests_},
                      {"forget", ctx.split.forget.size()},
                      {"step_norm", step.step_norm},
                      {"start_grad_norm", step.start_grad_norm},
                      {"residual_norm", step.residual_norm},
                      {"train_objective_residual_norm", train_residual}};
  r["bound"] = step.bound >= 0 ? nlohmann::json(step.bound) : nlohmann::json(nullptr);
  r["remainder_bound"] =
      step.bound >= 0 ? nlohmann::json(step.remainder_bound) : nlohmann::json(nullptr);
  r["accumulated_bound"] = step.bound >= 0 ? nlohmann::json(accumulated_) : nlohmann::json(nullptr);
  if (!ctx.report.contains("requests")) ctx.report["requests"] = nlohmann::json::array();
  ctx.report["requests"].push_back(r);
  ctx.report["form"] = form;
  ctx.report["l2"] = obj.l2;
  ctx.report["fair"] = train::to_string(obj.fair);
  ctx.report["step_accounts_for_fairness"] = fair_ && trained_fair;
  ctx.report["accumulated_bound"] = step.bound >= 0 ? nlohmann::json(accumulated_) : nullptr;
  // Sum-form gradient norms (F = n·J), the quantity Guo et al.'s bound and budget are about.
  ctx.report["norms"] = "sum form: ||∇(n·J)||";
  const double eps = ctx.opt.extra_or("eps", 1.0), delta = ctx.opt.extra_or("delta", 1e-4);
  LETHE_CHECK(eps > 0 && delta > 0 && delta < 1, "--opt eps/delta: need eps > 0 and 0 < delta < 1");
  if (!obj.perturb.empty() && step.bound >= 0) {
    const double s = obj.perturb_sigma;
    const double budget = s * eps / std::sqrt(2 * std::log(1.5 / delta));
    ctx.report["certificate"] = {{"eps", eps},
                                 {"delta", delta},
                                 {"sigma", s},
                                 {"budget", budget},
                                 {"certified", accumulated_ <= budget}};
  } else {
    ctx.report["certificate"] = {
        {"certified", false},
        {"why", obj.perturb.empty() ? "the original run was trained without --perturb"
                                    : "no residual bound for more than two classes"}};
  }
  std::fprintf(stderr,
               "%s: step %.3g, residual %.3g (training objective %.3g), bound %.3g, "
               "accumulated %.3g\n",
               method.c_str(), step.step_norm, step.residual_norm, train_residual, step.bound,
               accumulated_);
}

}  // namespace lethe::unlearn
