// Convex training of a linear head in float64: L2-regularised logistic regression (two classes)
// or softmax regression (more), optionally with the fairness penalty of Oesterling et al. 2024 and
// Guo et al. 2020's objective perturbation; its gradient and Hessian, a Newton solver, and the
// Newton removal step certified-removal methods take (unlearn/newton.cpp, unlearn/fair_newton.cpp).
// The head is `logreg`'s whole model, or any network's final Linear over frozen-prefix features.
//
// Parameters θ: binary labels use one vector θ ∈ R^p (P(y=1|x) = σ(θᵀx̃)), more classes a matrix
// [K, p], row-major; x̃ = (features, 1), so the bias is a weight and is regularised like the rest
// (as in Guo et al. and the paper's code). The objective in mean form, on rows D (n = |D|):
//
//   J(θ; D) = (1/n) Σ_i ℓ(θ; x̃_i, y_i) + (λ/2) ||θ||² + γ (cᵀθ)² + bᵀθ / n
//
//   eo: c = 1/(n_a n_b) Σ_{i∈a} Σ_{j∈b} 1[y_i = y_j] (x̃_i − x̃_j)
//   dp: c = 1/(n_a n_b) Σ_{i∈a} Σ_{j∈b} (x̃_i − x̃_j)  = mean_a x̃ − mean_b x̃
//
// The eo term is the pairwise equalized-odds-style regulariser of Oesterling, Ma, Calmon and
// Lakkaraju, "Fair Machine Unlearning", AISTATS 2024 (the fair loss L_fair of their Sec. 3, from
// Berk et al. 2017's convex group-fairness regulariser; the same form as fair_loss /
// fair_precompute_summation in the authors' released code): the squared mean score gap
// between same-label pairs of the two groups a (code 0) and b (code 1). It is quadratic in θ, so
// its Hessian 2γccᵀ is constant and a Newton step treats it exactly. The pair sum is computed in
// O(n p) from per-group, per-label sums. b is the objective perturbation (Guo et al. 2020, Sec. 4);
// in sum form (n·J) it is bᵀθ, the same for every D, so removals leave it unchanged.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/normalization.h"
#include "models/classifier.h"

namespace lethe::train {

struct FairPenalty {
  std::string kind = "none";  // none | eo | dp
  double lambda = 0;          // γ
  bool active() const { return kind != "none" && lambda > 0; }
};

// "eo:lambda=L", "dp:lambda=L" or "none"; a lethe::Error names `option` otherwise.
FairPenalty parse_fair_spec(const std::string& spec, const std::string& option = "--fair");
std::string to_string(const FairPenalty& f);

// A head's inputs in float64.
struct HeadData {
  int64_t n = 0, p = 0;           // rows; features + 1 (the constant, last)
  int64_t classes = 2;            //
  std::vector<double> x;          // [n, p] row-major
  std::vector<int64_t> y, group;  // group: protected codes (empty without an attribute)
  std::vector<std::string> group_names;
  // The rows at positions `local` (0..n-1), in that order.
  HeadData rows(const std::vector<int64_t>& local) const;
};

// forward_features of the normalized inputs `rows` of d (eval mode, no graph), plus the constant.
HeadData head_data(models::Classifier& model, const data::Dataset& d,
                   const std::vector<int64_t>& rows, const data::Normalization& norm);

struct HeadObjective {
  double l2 = 1e-4;             // λ
  FairPenalty fair;             // needs binary labels and exactly two groups
  std::vector<double> perturb;  // b, empty = none
  double perturb_sigma = 0;     // the σ b was drawn with (for the certificate's budget)
  bool with_fair = true;        // false: the objective without the fairness term (newton's view)
  int64_t dim(const HeadData& d) const { return d.classes == 2 ? d.p : d.classes * d.p; }
};

// c of the penalty (size p); throws when a group has no row.
std::vector<double> fairness_vector(const HeadData& d, const std::string& kind);

// J(θ; d); with `grad` (size dim) and `hess` (dim × dim, row-major) filled when non-null.
double head_objective(const HeadObjective& obj, const HeadData& d, const std::vector<double>& theta,
                      std::vector<double>* grad = nullptr, std::vector<double>* hess = nullptr);

struct SolveReport {
  int64_t iterations = 0;
  double value = 0, grad_norm = 0;  // J and ||∇J|| (mean form) at the solution
  bool converged = false;
  nlohmann::json to_json() const;
};

// Damped Newton (Armijo backtracking) from θ until ||∇J|| ≤ tol or max_iter steps.
SolveReport solve_newton(const HeadObjective& obj, const HeadData& d, std::vector<double>& theta,
                         double tol = 1e-10, int64_t max_iter = 100);

// The Newton removal step from θ (a minimiser of J on `before`) to the rows `after` ⊂ before:
//   removal form (Guo et al.; the paper's eq. for fair unlearning):
//     θ⁻ = θ − H_after⁻¹ (∇F_after(θ) − ∇F_before(θ)),   F_D = |D|·J(·; D)
//   retain form: θ⁻ = θ − H_after⁻¹ ∇F_after(θ)  (one exact Newton step on the rest; equal to the
//     removal form when ∇F_before(θ) = 0, and it does not assume that).
// With obj.with_fair = false the fairness term is left out of F and H (plain certified removal).
struct RemovalStep {
  std::vector<double> theta;
  double start_grad_norm = 0;   // ||∇F_before(θ)||: 0 for an exact minimiser (the premise)
  double residual_norm = 0;     // ||∇F_after(θ⁻)|| of the objective the method minimises
  double remainder_bound = -1;  // Guo et al.'s bound on the step's Taylor remainder (binary)
  double bound = -1;     // on residual_norm: remainder_bound (+ start_grad_norm in removal form)
  double step_norm = 0;  // ||θ⁻ − θ||
};
RemovalStep newton_removal(const HeadObjective& obj, const HeadData& before, const HeadData& after,
                           const std::vector<double>& theta, bool retain_form = false);

// θ of a model's head (its Linear named head_prefix()): binary: w₁ − w₀ (and b₁ − b₀), which is
// the logit difference; else the rows of [W | b]. write_head splits a binary θ as ±θ/2.
std::vector<double> read_head(models::Classifier& model, int64_t classes);
void write_head(models::Classifier& model, const std::vector<double>& theta, int64_t classes);

// The objective a run trained its head with (config.json: "wd" as λ, "fair", "perturb" σ and
// "seed" for b ~ N(0, σ²)^dim); an unlearning run's config is followed back through "from".
// `dim` is the head's parameter count (b's size).
HeadObjective head_objective_of_run(const nlohmann::json& run_config, int64_t dim);
// b ~ N(0, σ²)^dim drawn from the run's seed (stream kObjectivePerturbation).
std::vector<double> perturbation(double sigma, uint64_t seed, int64_t dim);

// The float64 θ beside a checkpoint (DIR/head_f64.safetensors, tensor "theta"), so a removal
// starts from the solver's θ, not its float32 rounding; read returns {} when the file is absent.
void save_head_f64(const std::string& dir, const std::vector<double>& theta);
std::vector<double> load_head_f64(const std::string& dir);

// `lethe train --solver newton`: solves `obj` on rows of `train` (float64 Newton to ||∇J|| ≤
// 1e-10), writes θ into the model's head and DIR/head_f64.safetensors; returns the report
// (solver, objective terms, the fairness penalty's c·θ).
nlohmann::json fit_linear_head(models::Classifier& model, const data::Dataset& train,
                               const std::vector<int64_t>& rows, const data::Normalization& norm,
                               const HeadObjective& obj, const std::string& dir);

// ||X||₂ (largest singular value of the [n, p] data matrix), by power iteration on XᵀX.
double spectral_norm(const HeadData& d);

// Solves A z = r for symmetric positive definite A (n × n, row-major) by Cholesky; a lethe::Error
// when A is not positive definite.
std::vector<double> cholesky_solve(std::vector<double> a, int64_t n, std::vector<double> r);

}  // namespace lethe::train
