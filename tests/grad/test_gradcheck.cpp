// Gradient checks of cpu_ref by central differences in double (after Caffe's checker): for
// every registry op, the analytic gradient of L = Σ y·dy from backward() in f64 is compared
// with (L(x+h) − L(x−h)) / 2h per input element. Piecewise ops skip elements where the two
// one-sided differences disagree (a kink inside the step), and must not skip many.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>

#include "tests/support/run_op.h"

using namespace lethe;

namespace {

double loss_of(const ops::OpInfo& op, std::vector<Tensor> in, const Tensor& dy) {
  NoGradGuard ng;
  Tensor y = op.forward(in);
  std::vector<double> yv = y.to_vector_f64(), dv = dy.to_vector_f64();
  double s = 0;
  for (size_t i = 0; i < yv.size(); ++i) s += yv[i] * dv[i];
  return s;
}

}  // namespace

TEST_SUITE("grad") {
  TEST_CASE("central differences in double agree with backward on cpu_ref") {
    BackendGuard guard("cpu_ref");
    constexpr double h = 1e-6;
    constexpr int kMaxElems = 48;  // per input, spread over the tensor
    int ops_checked = 0;
    for (const ops::OpInfo& op : ops::op_registry()) {
      std::vector<ops::OpCase> cases = op.cases();
      for (const ops::OpCase& c : cases) {
        CAPTURE(op.name);
        CAPTURE(c.label);
        if (c.inputs[0].defined() && c.inputs[0].numel() > 20000)
          continue;  // big cases: harness only
        testing::OpRun run = testing::run_op(op, c, "cpu_ref", DType::F64, 7);
        Tensor dy = Tensor::randn(run.y.shape(), 7, DType::F64);
        std::vector<Tensor> base;
        for (const Tensor& t : c.inputs) base.push_back(testing::fresh_copy(t, DType::F64));
        int checked = 0, skipped = 0;
        double worst = 0;
        const double f0 = loss_of(op, base, dy);
        for (size_t i = 0; i < base.size(); ++i) {
          if (!c.differentiable[i] || !base[i].defined()) continue;
          std::vector<double> g = run.grads[i].to_vector_f64();
          int64_t n = base[i].numel();
          int64_t step = std::max<int64_t>(1, n / kMaxElems);
          for (int64_t j = 0; j < n; j += step) {
            auto eval = [&](double delta) {
              std::vector<Tensor> in;
              for (const Tensor& t : base) in.push_back(t.defined() ? t.clone() : t);
              double* p = in[i].data<double>();
              p[j] += delta;
              return loss_of(op, in, dy);
            };
            double fp = eval(h), fm = eval(-h);
            double right = (fp - f0) / h, left = (f0 - fm) / h, central = (fp - fm) / (2 * h);
            if (op.has_kinks && std::fabs(right - left) > 1e-3 * (1 + std::fabs(central))) {
              ++skipped;
              continue;
            }
            double err = std::fabs(central - g[j]) / std::max(1.0, std::fabs(g[j]));
            worst = std::max(worst, err);
            CHECK(err < 1e-5);
            ++checked;
          }
        }
        CHECK(checked > 0);
        CHECK(skipped <= checked / 4 + 1);
      }
      ++ops_checked;
    }
    std::printf("gradcheck: %d ops checked by central differences in f64\n", ops_checked);
  }
}
