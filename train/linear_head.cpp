#include "train/linear_head.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "data/loader.h"
#include "data/random.h"
#include "engine/autograd/autograd.h"
#include "engine/core/error.h"
#include "engine/core/parse.h"
#include "engine/io/run_dir.h"
#include "engine/io/safetensors.h"

namespace lethe::train {
namespace {

double dot(const double* a, const double* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

double norm2(const std::vector<double>& v) {
  return std::sqrt(dot(v.data(), v.data(), static_cast<int64_t>(v.size())));
}

// log(1 + e^z) without overflow.
double softplus(double z) {
  return z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
}

double sigmoid(double z) {
  if (z >= 0) return 1 / (1 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1 + e);
}

void check_fair_data(const HeadData& d) {
  LETHE_CHECK(d.classes == 2, "--fair: the fairness penalty needs binary labels, the data has ",
              d.classes, " classes");
  LETHE_CHECK(!d.group.empty(),
              "--fair: the data has no protected attribute (csv:FILE:protected=COL)");
  LETHE_CHECK(d.group_names.size() == 2,
              "--fair: the penalty compares two groups; the protected "
              "attribute has ",
              d.group_names.size(), " (binarize it, e.g. protected=Age<25)");
}

}  // namespace

FairPenalty parse_fair_spec(const std::string& spec, const std::string& option) {
  FairPenalty f;
  if (spec.empty() || spec == "none") return f;
  const size_t colon = spec.find(':');
  f.kind = spec.substr(0, colon);
  LETHE_CHECK(f.kind == "eo" || f.kind == "dp", option, " ", spec, ": unknown penalty '", f.kind,
              "' (use eo:lambda=L, dp:lambda=L or none)");
  const std::string rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  LETHE_CHECK(
      rest.rfind("lambda=", 0) == 0 && parse_double(rest.substr(7), f.lambda) && f.lambda >= 0,
      option, " ", spec, ": expected ", f.kind, ":lambda=L with L >= 0");
  return f;
}

std::string to_string(const FairPenalty& f) {
  if (f.kind == "none") return "none";
  char b[64];
  std::snprintf(b, sizeof b, "%s:lambda=%.17g", f.kind.c_str(), f.lambda);
  return b;
}

HeadData HeadData::rows(const std::vector<int64_t>& local) const {
  HeadData r;
  r.n = static_cast<int64_t>(local.size());
  r.p = p;
  r.classes = classes;
  r.group_names = group_names;
  r.x.resize(static_cast<size_t>(r.n * p));
  for (int64_t i = 0; i < r.n; ++i) {
    const int64_t s = local[static_cast<size_t>(i)];
    LETHE_CHECK(s >= 0 && s < n, "head data: row ", s, " out of range [0, ", n, ")");
    std::copy_n(x.begin() + s * p, p, r.x.begin() + i * p);
    r.y.push_back(y[static_cast<size_t>(s)]);
    if (!group.empty()) r.group.push_back(group[static_cast<size_t>(s)]);
  }
  return r;
}

HeadData head_data(models::Classifier& model, const data::Dataset& d,
                   const std::vector<int64_t>& rows, const data::Normalization& norm) {
  HeadData h;
  h.n = static_cast<int64_t>(rows.size());
  h.p = model.num_features() + 1;
  h.classes = d.num_classes;
  h.x.reserve(static_cast<size_t>(h.n * h.p));
  const bool was_training = model.is_training();
  model.train(false);
  {
    NoGradGuard ng;
    data::LoaderOptions lo;
    lo.batch_size = 256;
    lo.shuffle = false;
    data::Loader loader(d, rows, lo);
    data::Batch b;
    while (loader.next(b)) {
      std::vector<float> f =
          model.forward_features(norm.apply(b.x.to(model.device()))).cpu().to_vector();
      const int64_t m = static_cast<int64_t>(f.size()) / (h.p - 1);
      for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < h.p - 1; ++j)
          h.x.push_back(f[static_cast<size_t>(i * (h.p - 1) + j)]);
        h.x.push_back(1.0);
      }
    }
  }
  model.train(was_training);
  const int64_t* lab = d.labels.data<int64_t>();
  for (int64_t i : rows) h.y.push_back(lab[i]);
  if (d.has_protected()) {
    const int64_t* g = d.protected_attr.data<int64_t>();
    for (int64_t i : rows) h.group.push_back(g[i]);
    h.group_names = d.protected_names;
  }
  return h;
}

std::vector<double> fairness_vector(const HeadData& d, const std::string& kind) {
  check_fair_data(d);
  // Per group g and label y: the count and the feature sum.
  std::vector<double> sum(static_cast<size_t>(4 * d.p), 0.0);
  int64_t cnt[2][2] = {{0, 0}, {0, 0}};
  for (int64_t i = 0; i < d.n; ++i) {
    const int64_t g = d.group[static_cast<size_t>(i)], y = d.y[static_cast<size_t>(i)];
    ++cnt[g][y];
    double* s = &sum[static_cast<size_t>((2 * g + y) * d.p)];
    for (int64_t j = 0; j < d.p; ++j) s[j] += d.x[static_cast<size_t>(i * d.p + j)];
  }
  const double na = static_cast<double>(cnt[0][0] + cnt[0][1]);
  const double nb = static_cast<double>(cnt[1][0] + cnt[1][1]);
  LETHE_CHECK(na > 0 && nb > 0, "--fair: group '", d.group_names[na > 0 ? 1 : 0],
              "' has no row left; the penalty compares two groups");
  std::vector<double> c(static_cast<size_t>(d.p), 0.0);
  for (int64_t j = 0; j < d.p; ++j) {
    auto s = [&](int g, int y) { return sum[static_cast<size_t>((2 * g + y) * d.p + j)]; };
    double v = 0;
    if (kind == "eo") {
      // Σ_{i∈a, j∈b, y_i=y_j} (x_i − x_j) = Σ_y (n_b^y S_a^y − n_a^y S_b^y).
      for (int y = 0; y < 2; ++y) v += cnt[1][y] * s(0, y) - cnt[0][y] * s(1, y);
    } else {
      v = nb * (s(0, 0) + s(0, 1)) - na * (s(1, 0) + s(1, 1));
    }
    c[static_cast<size_t>(j)] = v / (na * nb);
  }
  return c;
}

double head_objective(const HeadObjective& obj, const HeadData& d, const std::vector<double>& theta,
                      std::vector<double>* grad, std::vector<double>* hess) {
  const int64_t dim = obj.dim(d), p = d.p, k = d.classes;
  LETHE_CHECK(static_cast<int64_t>(theta.size()) == dim, "head objective: θ has ", theta.size(),
              " values, the head needs ", dim);
  LETHE_CHECK(d.n > 0, "head objective: no rows");
  if (grad) grad->assign(static_cast<size_t>(dim), 0.0);
  if (hess) hess->assign(static_cast<size_t>(dim * dim), 0.0);
  double loss = 0;
  std::vector<double> z(static_cast<size_t>(k)), pr(static_cast<size_t>(k));
  std::vector<double> probs;  // softmax rows [n, K] for the Hessian (more than two classes)
  for (int64_t i = 0; i < d.n; ++i) {
    const double* x = &d.x[static_cast<size_t>(i * p)];
    const int64_t y = d.y[static_cast<size_t>(i)];
    if (k == 2) {
      const double zi = dot(theta.data(), x, p);
      loss += softplus(zi) - (y == 1 ? zi : 0.0);
      const double s = sigmoid(zi);
      if (grad)
        for (int64_t a = 0; a < p; ++a) (*grad)[a] += (s - y) * x[a];
      if (hess) {
        const double w = s * (1 - s);
        for (int64_t a = 0; a < p; ++a) {
          const double wa = w * x[a];
          double* row = &(*hess)[static_cast<size_t>(a * dim)];
          for (int64_t b = a; b < p; ++b) row[b] += wa * x[b];
        }
      }
      continue;
    }
    double mx = -1e300;
    for (int64_t c = 0; c < k; ++c) {
      z[c] = dot(&theta[static_cast<size_t>(c * p)], x, p);
      mx = std::max(mx, z[c]);
    }
    double se = 0;
    for (int64_t c = 0; c < k; ++c) se += std::exp(z[c] - mx);
    loss += mx + std::log(se) - z[y];
    for (int64_t c = 0; c < k; ++c) pr[c] = std::exp(z[c] - mx) / se;
    if (grad)
      for (int64_t c = 0; c < k; ++c)
        for (int64_t a = 0; a < p; ++a) (*grad)[c * p + a] += (pr[c] - (c == y)) * x[a];
    if (hess) probs.insert(probs.end(), pr.begin(), pr.end());
  }
  if (hess && k > 2) {
    // Block (c, e) of Σ_i (diag(p_i) − p_i p_iᵀ) ⊗ x_i x_iᵀ; one thread per block, rows in order,
    // so the sums do not depend on the thread count.
    const int64_t blocks = k * (k + 1) / 2;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t q = 0; q < blocks; ++q) {
      int64_t c = 0, e = q;
      while (e >= k - c) e -= k - c, ++c;
      e += c;
      for (int64_t i = 0; i < d.n; ++i) {
        const double* x = &d.x[static_cast<size_t>(i * p)];
        const double* pi = &probs[static_cast<size_t>(i * k)];
        const double w = (c == e ? pi[c] : 0.0) - pi[c] * pi[e];
        for (int64_t a = 0; a < p; ++a) {
          double* row = &(*hess)[static_cast<size_t>((c * p + a) * dim + e * p)];
          const double wa = w * x[a];
          for (int64_t b = (c == e ? a : 0); b < p; ++b) row[b] += wa * x[b];
        }
      }
    }
  }
  const double inv_n = 1.0 / static_cast<double>(d.n);
  double value = loss * inv_n + 0.5 * obj.l2 * dot(theta.data(), theta.data(), dim);
  if (grad)
    for (int64_t a = 0; a < dim; ++a) (*grad)[a] = (*grad)[a] * inv_n + obj.l2 * theta[a];
  if (hess) {
    for (int64_t a = 0; a < dim; ++a) {
      for (int64_t b = a; b < dim; ++b) (*hess)[a * dim + b] *= inv_n;
      (*hess)[a * dim + a] += obj.l2;
      for (int64_t b = 0; b < a; ++b) (*hess)[a * dim + b] = (*hess)[b * dim + a];
    }
  }
  if (obj.with_fair && obj.fair.active()) {
    const std::vector<double> c = fairness_vector(d, obj.fair.kind);
    const double v = dot(c.data(), theta.data(), p), g2 = 2 * obj.fair.lambda;
    value += obj.fair.lambda * v * v;
    if (grad)
      for (int64_t a = 0; a < p; ++a) (*grad)[a] += g2 * v * c[a];
    if (hess)
      for (int64_t a = 0; a < p; ++a)
        for (int64_t b = 0; b < p; ++b) (*hess)[a * dim + b] += g2 * c[a] * c[b];
  }
  if (!obj.perturb.empty()) {
    LETHE_CHECK(static_cast<int64_t>(obj.perturb.size()) == dim,
                "head objective: perturbation has ", obj.perturb.size(), " values, θ has ", dim);
    value += dot(obj.perturb.data(), theta.data(), dim) * inv_n;
    if (grad)
      for (int64_t a = 0; a < dim; ++a) (*grad)[a] += obj.perturb[a] * inv_n;
  }
  return value;
}

nlohmann::json SolveReport::to_json() const {
  return {{"iterations", iterations},
          {"objective", value},
          {"grad_norm", grad_norm},
          {"converged", converged}};
}

std::vector<double> cholesky_solve(std::vector<double> a, int64_t n, std::vector<double> r) {
  // In place: the lower triangle becomes L with A = L Lᵀ.
  for (int64_t j = 0; j < n; ++j) {
    double d = a[j * n + j];
    for (int64_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    LETHE_CHECK(d > 0 && std::isfinite(d), "Newton: the Hessian is not positive definite (pivot ",
                j, " = ", d, "); is the L2 coefficient > 0?");
    const double l = std::sqrt(d);
    a[j * n + j] = l;
    for (int64_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      const double* ai = &a[static_cast<size_t>(i * n)];
      const double* aj = &a[static_cast<size_t>(j * n)];
      for (int64_t k = 0; k < j; ++k) s -= ai[k] * aj[k];
      a[i * n + j] = s / l;
    }
  }
  for (int64_t i = 0; i < n; ++i) {  // L y = r
    double s = r[i];
    for (int64_t k = 0; k < i; ++k) s -= a[i * n + k] * r[k];
    r[i] = s / a[i * n + i];
  }
  for (int64_t i = n - 1; i >= 0; --i) {  // Lᵀ z = y
    double s = r[i];
    for (int64_t k = i + 1; k < n; ++k) s -= a[k * n + i] * r[k];
    r[i] = s / a[i * n + i];
  }
  return r;
}

SolveReport solve_newton(const HeadObjective& obj, const HeadData& d, std::vector<double>& theta,
                         double tol, int64_t max_iter) {
  LETHE_CHECK(obj.l2 > 0, "Newton solver: the L2 coefficient must be > 0 (got ", obj.l2,
              "): it makes the objective strongly convex");
  const int64_t dim = obj.dim(d);
  if (static_cast<int64_t>(theta.size()) != dim) theta.assign(static_cast<size_t>(dim), 0.0);
  SolveReport rep;
  std::vector<double> g, h, trial(static_cast<size_t>(dim));
  for (;; ++rep.iterations) {
    rep.value = head_objective(obj, d, theta, &g, &h);
    rep.grad_norm = norm2(g);
    if (rep.grad_norm <= tol) {
      rep.converged = true;
      break;
    }
    if (rep.iterations >= max_iter) break;
    std::vector<double> minus_g(g);
    for (double& v : minus_g) v = -v;
    const std::vector<double> step = cholesky_solve(h, dim, minus_g);
    const double slope = -dot(g.data(), step.data(), dim);  // gᵀΔ < 0
    double t = 1;
    // Near the optimum the decrease (~||g||²) is below double rounding of J: take the full step.
    for (; t > 1e-10; t *= 0.5) {
      for (int64_t a = 0; a < dim; ++a) trial[a] = theta[a] + t * step[a];
      if (rep.grad_norm < 1e-6 || head_objective(obj, d, trial) <= rep.value - 1e-4 * t * slope)
        break;
    }
    if (t <= 1e-10) break;  // no decrease along the Newton direction: stop where we are
    theta = trial;
  }
  return rep;
}

RemovalStep newton_removal(const HeadObjective& obj, const HeadData& before, const HeadData& after,
                           const std::vector<double>& theta, bool retain_form) {
  const int64_t dim = obj.dim(after);
  const double nb = static_cast<double>(before.n), na = static_cast<double>(after.n);
  std::vector<double> ga, gb, h;
  head_objective(obj, after, theta, &ga, &h);
  head_objective(obj, before, theta, &gb);
  RemovalStep r;
  std::vector<double> rhs(static_cast<size_t>(dim));
  for (int64_t a = 0; a < dim; ++a) {
    rhs[a] = -(na * ga[a] - (retain_form ? 0.0 : nb * gb[a]));
    gb[a] *= nb;
  }
  r.start_grad_norm = norm2(gb);
  for (double& v : h) v *= na;
  const std::vector<double> step = cholesky_solve(h, dim, rhs);
  r.theta = theta;
  for (int64_t a = 0; a < dim; ++a) r.theta[a] += step[a];
  r.step_norm = norm2(step);
  std::vector<double> g;
  head_objective(obj, after, r.theta, &g);
  r.residual_norm = na * norm2(g);
  if (after.classes == 2) {
    // Guo et al. 2020, Cor. 1: ||∇F(θ⁻)|| ≤ γ ||X||₂ ||Δ||₂ ||XΔ||₂ with γ = 1/4 for the logistic
    // loss (the quadratic L2 and fairness terms leave no remainder); the removal form adds the
    // start gradient it assumed to be zero.
    double xd = 0;
    for (int64_t i = 0; i < after.n; ++i) {
      const double v = dot(&after.x[static_cast<size_t>(i * after.p)], step.data(), after.p);
      xd += v * v;
    }
    r.remainder_bound = 0.25 * spectral_norm(after) * r.step_norm * std::sqrt(xd);
    r.bound = r.remainder_bound + (retain_form ? 0.0 : r.start_grad_norm);
  }
  return r;
}

std::vector<double> read_head(models::Classifier& model, int64_t classes) {
  Tensor w, b;
  for (auto& [n, t] : model.named_parameters()) {
    if (n == model.head_prefix() + ".weight") w = t;
    if (n == model.head_prefix() + ".bias") b = t;
  }
  LETHE_CHECK(w.defined() && b.defined() && w.dim() == 2 && w.size(0) == classes,
              "linear head: the model has no ", model.head_prefix(), ".weight/.bias with ", classes,
              " rows");
  const int64_t k = w.size(0), f = w.size(1), p = f + 1;
  const std::vector<float> wv = w.cpu().to_vector(), bv = b.cpu().to_vector();
  std::vector<double> theta;
  if (classes == 2) {
    for (int64_t j = 0; j < f; ++j) theta.push_back(double(wv[f + j]) - double(wv[j]));
    theta.push_back(double(bv[1]) - double(bv[0]));
    return theta;
  }
  theta.resize(static_cast<size_t>(k * p));
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < f; ++j) theta[c * p + j] = wv[c * f + j];
    theta[c * p + f] = bv[c];
  }
  return theta;
}

void write_head(models::Classifier& model, const std::vector<double>& theta, int64_t classes) {
  Tensor w, b;
  for (auto& [n, t] : model.named_parameters()) {
    if (n == model.head_prefix() + ".weight") w = t;
    if (n == model.head_prefix() + ".bias") b = t;
  }
  LETHE_CHECK(w.defined() && b.defined() && w.size(0) == classes && w.is_contiguous() &&
                  w.device().is_cpu(),
              "linear head: cannot write ", model.head_prefix(), " (", classes, " classes)");
  const int64_t k = w.size(0), f = w.size(1), p = f + 1;
  const int64_t want = classes == 2 ? p : k * p;
  LETHE_CHECK(static_cast<int64_t>(theta.size()) == want, "linear head: θ has ", theta.size(),
              " values, the head needs ", want);
  float* wp = w.data<float>();
  float* bp = b.data<float>();
  if (classes == 2) {
    for (int64_t j = 0; j < f; ++j) {
      wp[f + j] = static_cast<float>(theta[j] / 2);
      wp[j] = -wp[f + j];
    }
    bp[1] = static_cast<float>(theta[f] / 2);
    bp[0] = -bp[1];
    return;
  }
  for (int64_t c = 0; c < k; ++c) {
    for (int64_t j = 0; j < f; ++j) wp[c * f + j] = static_cast<float>(theta[c * p + j]);
    bp[c] = static_cast<float>(theta[c * p + f]);
  }
}

double spectral_norm(const HeadData& d) {
  const int64_t p = d.p;
  std::vector<double> g(static_cast<size_t>(p * p), 0.0);
  for (int64_t i = 0; i < d.n; ++i) {
    const double* x = &d.x[static_cast<size_t>(i * p)];
    for (int64_t a = 0; a < p; ++a)
      for (int64_t b = a; b < p; ++b) g[a * p + b] += x[a] * x[b];
  }
  for (int64_t a = 0; a < p; ++a)
    for (int64_t b = 0; b < a; ++b) g[a * p + b] = g[b * p + a];
  std::vector<double> v(static_cast<size_t>(p), 1.0), w(static_cast<size_t>(p));
  double lam = 0, trace = 0;
  for (int64_t a = 0; a < p; ++a) trace += g[a * p + a];
  for (int it = 0; it < 20000; ++it) {
    for (int64_t a = 0; a < p; ++a) w[a] = dot(&g[static_cast<size_t>(a * p)], v.data(), p);
    const double nw = norm2(w);
    if (nw == 0) return 0;
    for (int64_t a = 0; a < p; ++a) v[a] = w[a] / nw;
    if (std::fabs(nw - lam) <= 1e-13 * nw)
      return std::sqrt(nw) * (1 + 1e-9);  // converged; the margin covers the last digits
    lam = nw;
  }
  // Not converged (two nearly equal top eigenvalues): ||X||_F = √trace(XᵀX) is a sure bound.
  return std::sqrt(trace);
}

std::vector<double> perturbation(double sigma, uint64_t seed, int64_t dim) {
  std::vector<double> b =
      Tensor::randn({dim}, data::stream_key(seed, data::kObjectivePerturbation), DType::F64)
          .to_vector_f64();
  for (double& v : b) v *= sigma;
  return b;
}

HeadObjective head_objective_of_run(const nlohmann::json& run_config, int64_t dim) {
  nlohmann::json c = run_config;
  // An unlearning run's config names the run it started from; the recipe is the trainer's.
  for (int hops = 0; !c.contains("model") && c.contains("from"); ++hops) {
    const std::string from = c["from"].get<std::string>();
    LETHE_CHECK(hops < 16 && std::filesystem::exists(from + "/config.json"),
                "linear head: cannot follow 'from' to the training run (", from, ")");
    c = io::read_json(from + "/config.json");
  }
  HeadObjective obj;
  obj.l2 = c.value("wd", 0.0);
  obj.fair = parse_fair_spec(c.value("fair", std::string("none")), "config.json fair");
  const double sigma = c.value("perturb", 0.0);
  if (sigma > 0) obj.perturb = perturbation(sigma, c.value("seed", uint64_t{0}), dim);
  obj.perturb_sigma = sigma;
  return obj;
}

void save_head_f64(const std::string& dir, const std::vector<double>& theta) {
  io::SafetensorsFile f;
  io::StTensor t;
  t.dtype = io::StDType::F64;
  t.shape = {static_cast<int64_t>(theta.size())};
  t.data.resize(theta.size() * sizeof(double));
  std::memcpy(t.data.data(), theta.data(), t.data.size());  // little-endian hosts only, as io/
  f.tensors["theta"] = std::move(t);
  io::write_safetensors(dir + "/head_f64.safetensors", f);
}

std::vector<double> load_head_f64(const std::string& dir) {
  const std::string path = dir + "/head_f64.safetensors";
  if (!std::filesystem::exists(path)) return {};
  io::SafetensorsFile f = io::read_safetensors(path);
  auto it = f.tensors.find("theta");
  LETHE_CHECK(it != f.tensors.end() && it->second.dtype == io::StDType::F64, path,
              ": expected an F64 tensor 'theta'");
  std::vector<double> theta(static_cast<size_t>(it->second.numel()));
  std::memcpy(theta.data(), it->second.data.data(), theta.size() * sizeof(double));
  return theta;
}

nlohmann::json fit_linear_head(models::Classifier& model, const data::Dataset& train,
                               const std::vector<int64_t>& rows, const data::Normalization& norm,
                               const HeadObjective& obj, const std::string& dir) {
  const HeadData d = head_data(model, train, rows, norm);
  if (obj.fair.active()) check_fair_data(d);
  std::vector<double> theta;
  const SolveReport rep = solve_newton(obj, d, theta);
  LETHE_CHECK(rep.converged, "--solver newton: did not converge in ", rep.iterations,
              " iterations (||grad|| = ", rep.grad_norm, ")");
  write_head(model, theta, d.classes);
  if (!dir.empty()) save_head_f64(dir, theta);
  nlohmann::json j = {{"solver", "newton"},
                      {"dtype", "f64"},
                      {"l2", obj.l2},
                      {"fair", to_string(obj.fair)},
                      {"perturbed", !obj.perturb.empty()},
                      {"parameters", theta.size()},
                      {"rows", d.n},
                      {"theta_norm", norm2(theta)}};
  j.update(rep.to_json());
  if (d.classes == 2 && !d.group.empty() && d.group_names.size() == 2) {
    // c·θ: the mean same-label score gap between the groups that the penalty squares.
    for (const char* k : {"eo", "dp"}) {
      const std::vector<double> c = fairness_vector(d, k);
      j[std::string("score_gap_") + k] = dot(c.data(), theta.data(), d.p);
    }
  }
  return j;
}

}  // namespace lethe::train
