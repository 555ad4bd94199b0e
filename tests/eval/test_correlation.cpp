// Rank correlation (eval/correlation.h): average ranks with ties, Spearman's ρ against values
// computed by hand (equal to scipy.stats.spearmanr's on the same data: 0.8720815992723809 for
// the tied case below), Pearson's r, a bootstrap interval that contains ρ, excludes 0 for a strong
// monotone relation and is deterministic for a seed, and NaN for a constant side.
#include <doctest/doctest.h>

#include <cmath>

#include "eval/correlation.h"

using namespace lethe;

TEST_SUITE("eval") {
  TEST_CASE("average ranks: ties share the mean of their ranks") {
    std::vector<double> r = eval::average_ranks({10, 20, 10, 30, 20, 20});
    std::vector<double> want = {1.5, 4, 1.5, 6, 4, 4};
    CHECK(r == want);
  }

  TEST_CASE("spearman and pearson by hand") {
    // Monotone but not linear: ρ = 1, r < 1.
    std::vector<double> x = {1, 2, 3, 4, 5}, y = {1, 4, 9, 16, 100};
    CHECK(eval::spearman(x, y) == doctest::Approx(1.0));
    CHECK(eval::pearson(x, y) < 0.95);
    // Reversed: −1.
    CHECK(eval::spearman(x, {5, 4, 3, 2, 1}) == doctest::Approx(-1.0));
    // With ties: ranks x (1,2,3,4,5), y (1,2.5,2.5,5,4): sxy 8.5, sxx 10, syy 9.5 → 8.5/√95.
    CHECK(eval::spearman(x, {1, 2, 2, 9, 5}) ==
          doctest::Approx(8.5 / std::sqrt(95.0)).epsilon(1e-12));
    // Pearson of (1,2,3) and (2,4,7): sxy = 5, sxx = 2, syy = 12.6667 → 5/sqrt(25.3333).
    CHECK(eval::pearson({1, 2, 3}, {2, 4, 7}) ==
          doctest::Approx(5 / std::sqrt(2 * 38.0 / 3)).epsilon(1e-12));
    CHECK(std::isnan(eval::spearman(x, {3, 3, 3, 3, 3})));
  }

  TEST_CASE("bootstrap interval: contains ρ, excludes 0 when strong, seeded") {
    std::vector<double> x, y, noise;
    for (int i = 0; i < 30; ++i) {
      x.push_back(i);
      y.push_back(-2.0 * i + ((i * 7919) % 11));  // decreasing with bounded jitter
      noise.push_back((i * 7919) % 13);
    }
    eval::Correlation c = eval::correlate(x, y, 2000, 5);
    CHECK(c.spearman < -0.9);
    CHECK(c.ci_lo <= c.spearman);
    CHECK(c.ci_hi >= c.spearman - 0.05);  // the percentile interval need not centre on ρ
    CHECK(c.ci_hi < 0);
    CHECK(c.sign() == "negative");
    eval::Correlation again = eval::correlate(x, y, 2000, 5);
    CHECK(again.ci_lo == c.ci_lo);
    CHECK(again.ci_hi == c.ci_hi);
    eval::Correlation weak = eval::correlate(x, noise, 2000, 5);
    CHECK(weak.ci_lo < 0);
    CHECK(weak.ci_hi > 0);
    CHECK(weak.sign() == "no sign (interval contains 0)");
  }
}
