// Small SVG plots for reports a reader would rather look at than read: overlaid histograms
// (confidence of forget/retain/test), line plots (ROC curves, linear or log axes) and grouped or
// stacked bars (fairness gap per layer, per-layer cost). Plain SVG 1.1 text, no dependencies;
// every plot is a fixed 720×420 canvas with axes, ticks, a title and a legend.
#pragma once
#include <string>
#include <vector>

namespace lethe::eval::svg {

struct Series {
  std::string label;
  std::vector<double> x, y;
};

struct LineOptions {
  std::string title, xlabel, ylabel;
  bool log_x = false, log_y = false;                  // log axes (ROC curves at low FPR)
  bool diagonal = false;                              // the y = x chance line (ROC)
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;  // used when set (lo < hi); log axes need > 0
  bool auto_range = false;                            // range from the data instead
  bool points = false;                                // a scatter plot: markers, no lines
};
std::string line_plot(const std::vector<Series>& series, const LineOptions& o);

struct HistogramOptions {
  std::string title, xlabel;
  int bins = 40;
  double lo = 0, hi = 1;  // value range (values outside are clamped into the end bins)
  bool density = true;    // each series normalized to unit area, so set sizes do not matter
};
// One step outline per named sample set.
std::string histogram(const std::vector<std::pair<std::string, std::vector<double>>>& sets,
                      const HistogramOptions& o);

struct BarOptions {
  std::string title, ylabel;
  bool stacked = false;  // stack the groups' values instead of placing them side by side
};
// categories along x (layer names), one value per category in each group (model or phase).
std::string bar_chart(const std::vector<std::string>& categories,
                      const std::vector<std::pair<std::string, std::vector<double>>>& groups,
                      const BarOptions& o);

// Files: io::write_text_atomic (engine/io/run_dir.h).

}  // namespace lethe::eval::svg
