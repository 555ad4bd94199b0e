#include "eval/correlation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "data/random.h"
#include "engine/core/error.h"
#include "engine/io/run_dir.h"
#include "eval/compare.h"
#include "eval/report/svg.h"

namespace lethe::eval {

std::vector<double> average_ranks(const std::vector<double>& v) {
  std::vector<size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&v](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    const double avg = 0.5 * static_cast<double>(i + j) + 1.0;  // ranks i+1 .. j+1
    for (size_t k = i; k <= j; ++k) r[idx[k]] = avg;
    i = j + 1;
  }
  return r;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  LETHE_CHECK(x.size() == y.size(), "pearson: ", x.size(), " vs ", y.size(), " values");
  const size_t n = x.size();
  if (n < 2) return NAN;
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) mx += x[i], my += y[i];
  mx /= static_cast<double>(n);
  my /= static_cast<double>(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return NAN;
  return sxy / std::sqrt(sxx * syy);
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  return pearson(average_ranks(x), average_ranks(y));
}

nlohmann::json Correlation::to_json() const {
  auto v = [](double d) { return std::isnan(d) ? nlohmann::json() : nlohmann::json(d); };
  return {{"n", n},
          {"spearman", v(spearman)},
          {"pearson", v(pearson)},
          {"ci_lo", v(ci_lo)},
          {"ci_hi", v(ci_hi)},
          {"level", level},
          {"resamples", resamples},
          {"degenerate_resamples", degenerate},
          {"sign", sign()}};
}

std::string Correlation::sign() const {
  if (std::isnan(ci_lo) || std::isnan(ci_hi)) return "undetermined";
  if (ci_lo > 0) return "positive";
  if (ci_hi < 0) return "negative";
  return "no sign (interval contains 0)";
}

Correlation correlate(const std::vector<double>& x, const std::vector<double>& y, int64_t resamples,
                      uint64_t seed, double level) {
  LETHE_CHECK(x.size() == y.size(), "correlate: ", x.size(), " vs ", y.size(), " values");
  LETHE_CHECK(level > 0 && level < 1, "correlate: level must be in (0, 1)");
  Correlation c;
  c.n = static_cast<int64_t>(x.size());
  c.level = level;
  c.resamples = resamples;
  c.spearman = spearman(x, y);
  c.pearson = pearson(x, y);
  c.ci_lo = c.ci_hi = NAN;
  if (x.size() < 3 || std::isnan(c.spearman)) return c;
  const uint64_t key = data::stream_key(seed, 0x636f7272ull);  // "corr"
  std::vector<double> rhos, bx(x.size()), by(y.size());
  for (int64_t b = 0; b < resamples; ++b) {
    for (size_t i = 0; i < x.size(); ++i) {
      const auto j = static_cast<size_t>(
          data::uniform_below(key, static_cast<uint64_t>(b) * x.size() + i, x.size()));
      bx[i] = x[j];
      by[i] = y[j];
    }
    const double r = spearman(bx, by);
    if (std::isnan(r))
      ++c.degenerate;
    else
      rhos.push_back(r);
  }
  if (rhos.empty()) return c;
  std::sort(rhos.begin(), rhos.end());
  auto q = [&rhos](double p) {
    const double pos = p * static_cast<double>(rhos.size() - 1);
    const auto lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, rhos.size() - 1);
    return rhos[lo] + (pos - static_cast<double>(lo)) * (rhos[hi] - rhos[lo]);
  };
  c.ci_lo = q((1 - level) / 2);
  c.ci_hi = q(1 - (1 - level) / 2);
  return c;
}

namespace {

// A run's value of a column: the table's own columns or a details entry; NaN when absent.
double column(const CompareRow& r, const std::string& name) {
  if (name == "forget") return r.forget;
  if (name == "retain") return r.retain;
  if (name == "test") return r.test;
  if (name == "mia") return r.mia;
  if (name == "seconds") return r.seconds;
  if (name == "ft auc") return r.ft_auc;
  for (const auto& [k, v] : r.details)
    if (k == name) return v;
  return NAN;
}

std::string fmt(double v, int prec = 3) {
  if (std::isnan(v)) return "—";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

}  // namespace

std::string run_correlate(const CorrelateRequest& req) {
  LETHE_CHECK(req.dirs.size() >= 3, "correlate: at least 3 runs are needed, got ", req.dirs.size());
  LETHE_CHECK(!req.y.empty(), "--y: a column is required (e.g. \"pgd-linf acc\")");
  LETHE_CHECK(req.resamples >= 100, "--resamples must be ≥ 100, got ", req.resamples);
  CompareOptions co;
  co.allow_different_forget = req.allow_different_forget;
  co.gap = "svc";  // no gap is computed without a reference; any value serves
  std::vector<CompareRow> rows = compare_runs(req.dirs, "", co);

  std::vector<double> xs, ys;
  std::vector<const CompareRow*> used;
  std::string skipped;
  for (const CompareRow& r : rows) {
    const double x = column(r, req.x), y = column(r, req.y);
    if (std::isnan(x) || std::isnan(y) || x < 0 || y < 0) {
      skipped += (skipped.empty() ? "" : ", ") + r.dir;
      continue;
    }
    xs.push_back(x);
    ys.push_back(y);
    used.push_back(&r);
  }
  LETHE_CHECK(xs.size() >= 3, "correlate: only ", xs.size(), " runs have both '", req.x, "' and '",
              req.y,
              "' (evaluate them with lethe eval --norm-stats --attack ...); lacking: ", skipped);
  Correlation all = correlate(xs, ys, req.resamples, req.seed);
  const int pct = static_cast<int>(std::lround(100 * all.level));
  std::string md = "Correlation across " + std::to_string(all.n) + " runs of '" + req.x +
                   "' (x) and '" + req.y + "' (y): Spearman ρ " + fmt(all.spearman) + " [" +
                   fmt(all.ci_lo) + ", " + fmt(all.ci_hi) + "] (" + std::to_string(pct) +
                   "% bootstrap over runs, " + std::to_string(all.resamples) +
                   " resamples), Pearson r " + fmt(all.pearson) + "; sign: " + all.sign() + ".\n";
  if (!skipped.empty()) md += "Runs without both values (left out): " + skipped + ".\n";
  md += "\n| run | method | " + req.x + " | " + req.y + " |\n|---|---|---|---|\n";
  for (size_t i = 0; i < used.size(); ++i)
    md += "| " + used[i]->dir + " | " + used[i]->method + " | " + fmt(xs[i], 4) + " | " +
          fmt(ys[i], 2) + " |\n";

  nlohmann::json layers = nlohmann::json::array();
  if (req.per_layer) {
    // Each normalization layer's own gap against y, over the runs that have it.
    std::vector<std::string> names;
    for (const CompareRow* r : used)
      for (const auto& [n, g] : r->layer_gaps)
        if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    md += "\nPer layer (the layer's fairness gap against '" + req.y +
          "'):\n\n| layer | runs | Spearman ρ | interval | sign | gap min | gap max |\n"
          "|---|---|---|---|---|---|---|\n";
    for (const std::string& name : names) {
      std::vector<double> lx, ly;
      for (size_t i = 0; i < used.size(); ++i)
        for (const auto& [n, g] : used[i]->layer_gaps)
          if (n == name) lx.push_back(g), ly.push_back(ys[i]);
      if (lx.size() < 3) continue;
      Correlation c = correlate(lx, ly, req.resamples, req.seed);
      nlohmann::json j = c.to_json();
      j["layer"] = name;
      layers.push_back(j);
      md += "| " + name + " | " + std::to_string(c.n) + " | " + fmt(c.spearman) + " | [" +
            fmt(c.ci_lo) + ", " + fmt(c.ci_hi) + "] | " + c.sign() + " | " +
            fmt(*std::min_element(lx.begin(), lx.end()), 4) + " | " +
            fmt(*std::max_element(lx.begin(), lx.end()), 4) + " |\n";
    }
  }
  if (!req.out.empty()) {
    io::prepare_run_dir(req.out, true);
    nlohmann::json runs = nlohmann::json::array();
    for (size_t i = 0; i < used.size(); ++i)
      runs.push_back(
          {{"dir", used[i]->dir}, {"method", used[i]->method}, {"x", xs[i]}, {"y", ys[i]}});
    nlohmann::json j = {{"x", req.x},   {"y", req.y},          {"correlation", all.to_json()},
                        {"runs", runs}, {"per_layer", layers}, {"seed", req.seed}};
    // One series per method, so the plot shows which methods sit where.
    std::vector<svg::Series> series;
    for (size_t i = 0; i < used.size(); ++i) {
      auto it = std::find_if(series.begin(), series.end(),
                             [&](const svg::Series& s) { return s.label == used[i]->method; });
      if (it == series.end()) {
        series.push_back({used[i]->method, {}, {}});
        it = series.end() - 1;
      }
      it->x.push_back(xs[i]);
      it->y.push_back(ys[i]);
    }
    svg::LineOptions lo;
    lo.title = req.y + " against " + req.x + ": Spearman ρ " + fmt(all.spearman, 2) + " [" +
               fmt(all.ci_lo, 2) + ", " + fmt(all.ci_hi, 2) + "]";
    lo.xlabel = req.x;
    lo.ylabel = req.y;
    lo.auto_range = true;
    lo.points = true;
    // The runs' table as CSV too.
    using io::csv_field;
    std::string csv = "run,method," + csv_field(req.x) + "," + csv_field(req.y) + "\n";
    for (size_t i = 0; i < used.size(); ++i)
      csv += csv_field(used[i]->dir) + "," + csv_field(used[i]->method) + "," + fmt(xs[i], 6) +
             "," + fmt(ys[i], 6) + "\n";
    io::write_text_atomic(req.out + "/correlate.md", md);
    io::write_text_atomic(req.out + "/correlate.csv", csv);
    io::write_json_atomic(req.out + "/correlate.json", j);
    io::write_text_atomic(req.out + "/correlate.svg", svg::line_plot(series, lo));
  }
  return md;
}

}  // namespace lethe::eval
