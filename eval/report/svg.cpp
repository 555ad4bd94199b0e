// SVG plot writers (eval/report/svg.h): one plot frame (axes, ticks, title, legend) shared by
// the three chart kinds.
#include "eval/report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lethe::eval::svg {
namespace {

constexpr double kW = 720, kH = 420, kLeft = 70, kRight = 170, kTop = 40, kBottom = 60;
const char* const kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

const char* color(size_t i) {
  return kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
}

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else if (c == '"')
      o += "&quot;";
    else
      o += c;
  }
  return o;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

std::string tick_label(double v) {
  char b[32];
  double a = std::fabs(v);
  if (a != 0 && (a < 1e-2 || a >= 1e5))
    std::snprintf(b, sizeof b, "%.0e", v);
  else
    std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

// An axis maps data values to pixels, linear or log10.
struct Axis {
  double lo, hi;
  bool log;
  double p0, p1;  // pixel positions of lo and hi
  double t(double v) const {
    if (log) {
      v = std::max(v, lo);
      return p0 + (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) * (p1 - p0);
    }
    return p0 + (v - lo) / (hi - lo) * (p1 - p0);
  }
  std::vector<double> ticks() const {
    std::vector<double> out;
    if (log) {
      for (double d = std::pow(10.0, std::floor(std::log10(lo))); d <= hi * 1.0001; d *= 10)
        if (d >= lo * 0.9999) out.push_back(d);
      return out;
    }
    double span = hi - lo, raw = span / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = raw / mag < 1.5   ? mag
                  : raw / mag < 3.5 ? 2 * mag
                  : raw / mag < 7.5 ? 5 * mag
                                    : 10 * mag;
    for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-6; v += step)
      out.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
    return out;
  }
};

// `extra`: height below the standard canvas (room for a bar chart's rotated category labels).
std::string header(const std::string& title, double extra = 0) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(kW) + "\" height=\"" +
         num(kH + extra) + "\" viewBox=\"0 0 " + num(kW) + " " + num(kH + extra) +
         "\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" "
         "fill=\"white\"/>\n<text x=\"" +
         num((kLeft + kW - kRight) / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" +
         esc(title) + "</text>\n";
}

std::string frame(const Axis& x, const Axis& y, const std::string& xlabel,
                  const std::string& ylabel, bool x_ticks = true) {
  std::string s = "<rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" +
                  num(kW - kLeft - kRight) + "\" height=\"" + num(kH - kTop - kBottom) +
                  "\" fill=\"none\" stroke=\"black\"/>\n";
  if (x_ticks)
    for (double v : x.ticks())
      s += "<line x1=\"" + num(x.t(v)) + "\" y1=\"" + num(kH - kBottom) + "\" x2=\"" + num(x.t(v)) +
           "\" y2=\"" + num(kH - kBottom + 5) + "\" stroke=\"black\"/><text x=\"" + num(x.t(v)) +
           "\" y=\"" + num(kH - kBottom + 18) + "\" text-anchor=\"middle\">" + tick_label(v) +
           "</text>\n";
  for (double v : y.ticks())
    s += "<line x1=\"" + num(kLeft - 5) + "\" y1=\"" + num(y.t(v)) + "\" x2=\"" + num(kLeft) +
         "\" y2=\"" + num(y.t(v)) + "\" stroke=\"black\"/><line x1=\"" + num(kLeft) + "\" y1=\"" +
         num(y.t(v)) + "\" x2=\"" + num(kW - kRight) + "\" y2=\"" + num(y.t(v)) +
         "\" stroke=\"#e0e0e0\"/><text x=\"" + num(kLeft - 8) + "\" y=\"" + num(y.t(v) + 4) +
         "\" text-anchor=\"end\">" + tick_label(v) + "</text>\n";
  s += "<text x=\"" + num((kLeft + kW - kRight) / 2) + "\" y=\"" + num(kH - 15) +
       "\" text-anchor=\"middle\">" + esc(xlabel) + "</text>\n";
  s += "<text transform=\"translate(18," + num((kTop + kH - kBottom) / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + esc(ylabel) + "</text>\n";
  return s;
}

std::string legend(const std::vector<std::string>& labels) {
  std::string s;
  for (size_t i = 0; i < labels.size(); ++i) {
    double y = kTop + 10 + 18 * static_cast<double>(i);
    s += "<rect x=\"" + num(kW - kRight + 12) + "\" y=\"" + num(y - 9) +
         "\" width=\"14\" height=\"10\" fill=\"" + color(i) + "\"/><text x=\"" +
         num(kW - kRight + 32) + "\" y=\"" + num(y) + "\">" + esc(labels[i]) + "</text>\n";
  }
  return s;
}

void widen(double& lo, double& hi) {
  if (!(hi > lo)) {
    double d = std::fabs(lo) > 0 ? std::fabs(lo) * 0.1 : 1;
    lo -= d;
    hi += d;
  }
}

}  // namespace

std::string line_plot(const std::vector<Series>& series, const LineOptions& o) {
  double x0 = o.x_min, x1 = o.x_max, y0 = o.y_min, y1 = o.y_max;
  if (o.auto_range) {
    x0 = y0 = INFINITY;
    x1 = y1 = -INFINITY;
    for (const Series& s : series) {
      for (double v : s.x)
        if (!o.log_x || v > 0) x0 = std::min(x0, v), x1 = std::max(x1, v);
      for (double v : s.y)
        if (!o.log_y || v > 0) y0 = std::min(y0, v), y1 = std::max(y1, v);
    }
    if (!std::isfinite(x0)) x0 = o.log_x ? 1e-3 : 0, x1 = 1;
    if (!std::isfinite(y0)) y0 = o.log_y ? 1e-3 : 0, y1 = 1;
  }
  if (o.log_x) x0 = std::max(x0, 1e-6);
  if (o.log_y) y0 = std::max(y0, 1e-6);
  widen(x0, x1);
  widen(y0, y1);
  Axis ax{x0, x1, o.log_x, kLeft, kW - kRight}, ay{y0, y1, o.log_y, kH - kBottom, kTop};
  std::string s = header(o.title) + frame(ax, ay, o.xlabel, o.ylabel);
  if (o.diagonal) {
    std::string pts;
    for (int i = 0; i <= 100; ++i) {  // a polyline, so the chance line bends on log axes
      double v = o.log_x
                     ? std::pow(10.0, std::log10(x0) + (std::log10(x1) - std::log10(x0)) * i / 100)
                     : x0 + (x1 - x0) * i / 100;
      if (v < y0 || v > y1) continue;
      pts += num(ax.t(v)) + "," + num(ay.t(v)) + " ";
    }
    s += "<polyline points=\"" + pts +
         "\" fill=\"none\" stroke=\"#999\" stroke-dasharray=\"4,4\"/>\n";
  }
  std::vector<std::string> labels;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& sr = series[k];
    std::string pts;
    for (size_t i = 0; i < sr.x.size() && i < sr.y.size(); ++i) {
      if ((o.log_x && sr.x[i] <= 0) || (o.log_y && sr.y[i] <= 0)) continue;
      double px = std::clamp(ax.t(sr.x[i]), kLeft, kW - kRight);
      double py = std::clamp(ay.t(sr.y[i]), kTop, kH - kBottom);
      pts += num(px) + "," + num(py) + " ";
      if (o.points)
        s += "<circle cx=\"" + num(px) + "\" cy=\"" + num(py) + "\" r=\"4\" fill=\"" + color(k) +
             "\" fill-opacity=\"0.8\"/>\n";
    }
    if (!o.points)
      s += "<polyline points=\"" + pts + "\" fill=\"none\" stroke=\"" + color(k) +
           "\" stroke-width=\"1.8\"/>\n";
    labels.push_back(sr.label);
  }
  return s + legend(labels) + "</svg>\n";
}

std::string histogram(const std::vector<std::pair<std::string, std::vector<double>>>& sets,
                      const HistogramOptions& o) {
  int bins = std::max(1, o.bins);
  double lo = o.lo, hi = o.hi;
  widen(lo, hi);
  double width = (hi - lo) / bins;
  std::vector<std::vector<double>> h;
  double ymax = 0;
  for (const auto& [name, v] : sets) {
    std::vector<double> c(static_cast<size_t>(bins), 0.0);
    for (double x : v) {
      if (!std::isfinite(x)) continue;
      int b = static_cast<int>(std::floor((x - lo) / width));
      c[static_cast<size_t>(std::clamp(b, 0, bins - 1))] += 1;
    }
    double total = static_cast<double>(v.size());
    if (o.density && total > 0)
      for (double& x : c) x /= total * width;
    for (double x : c) ymax = std::max(ymax, x);
    h.push_back(std::move(c));
  }
  if (ymax <= 0) ymax = 1;
  Axis ax{lo, hi, false, kLeft, kW - kRight}, ay{0, ymax * 1.05, false, kH - kBottom, kTop};
  std::string s = header(o.title) + frame(ax, ay, o.xlabel, o.density ? "density" : "count");
  std::vector<std::string> labels;
  for (size_t k = 0; k < h.size(); ++k) {
    std::string pts = num(ax.t(lo)) + "," + num(ay.t(0)) + " ";
    for (int b = 0; b < bins; ++b) {
      double xa = lo + b * width, xb = xa + width, y = h[k][static_cast<size_t>(b)];
      pts += num(ax.t(xa)) + "," + num(ay.t(y)) + " " + num(ax.t(xb)) + "," + num(ay.t(y)) + " ";
    }
    pts += num(ax.t(hi)) + "," + num(ay.t(0));
    s += "<polyline points=\"" + pts + "\" fill=\"" + color(k) +
         "\" fill-opacity=\"0.15\" stroke=\"" + color(k) + "\" stroke-width=\"1.5\"/>\n";
    labels.push_back(sets[k].first + " (n=" + std::to_string(sets[k].second.size()) + ")");
  }
  return s + legend(labels) + "</svg>\n";
}

std::string bar_chart(const std::vector<std::string>& categories,
                      const std::vector<std::pair<std::string, std::vector<double>>>& groups,
                      const BarOptions& o) {
  size_t nc = categories.size(), ng = std::max<size_t>(groups.size(), 1);
  double ymax = 0, ymin = 0;
  for (size_t c = 0; c < nc; ++c) {
    double stack = 0;
    for (const auto& g : groups) {
      double v = c < g.second.size() ? g.second[c] : 0;
      if (o.stacked)
        stack += std::max(v, 0.0);
      else
        ymax = std::max(ymax, v), ymin = std::min(ymin, v);
    }
    if (o.stacked) ymax = std::max(ymax, stack);
  }
  if (ymax <= ymin) ymax = ymin + 1;
  Axis ax{0, static_cast<double>(std::max<size_t>(nc, 1)), false, kLeft, kW - kRight};
  Axis ay{ymin, ymax * 1.05, false, kH - kBottom, kTop};
  size_t longest = 0;
  for (const std::string& c : categories) longest = std::max(longest, c.size());
  double extra = std::max(0.0, 0.75 * static_cast<double>(longest) * 6.5 - kBottom + 20);
  std::string s = header(o.title, extra) + frame(ax, ay, "", o.ylabel, /*x_ticks=*/false);
  double slot = (kW - kLeft - kRight) / static_cast<double>(std::max<size_t>(nc, 1));
  double bw = o.stacked ? slot * 0.7 : slot * 0.8 / static_cast<double>(ng);
  for (size_t c = 0; c < nc; ++c) {
    double base = 0;
    for (size_t g = 0; g < groups.size(); ++g) {
      double v = c < groups[g].second.size() ? groups[g].second[c] : 0;
      double x = o.stacked ? kLeft + slot * c + slot * 0.15
                           : kLeft + slot * c + slot * 0.1 + bw * static_cast<double>(g);
      double ya = o.stacked ? base : 0, yb = o.stacked ? base + std::max(v, 0.0) : v;
      if (o.stacked) base = yb;
      double top = ay.t(std::max(ya, yb)), bottom = ay.t(std::min(ya, yb));
      s += "<rect x=\"" + num(x) + "\" y=\"" + num(top) + "\" width=\"" + num(bw) + "\" height=\"" +
           num(std::max(bottom - top, 0.0)) + "\" fill=\"" + color(g) + "\"><title>" +
           esc(categories[c] + " / " + groups[g].first + ": " + tick_label(v)) +
           "</title></rect>\n";
    }
    // Category labels rotated so long layer names fit.
    double cx = kLeft + slot * (static_cast<double>(c) + 0.5);
    s += "<text transform=\"translate(" + num(cx) + "," + num(kH - kBottom + 10) +
         ") rotate(45)\" font-size=\"" + (nc > 24 ? "8" : "10") + "\">" + esc(categories[c]) +
         "</text>\n";
  }
  std::vector<std::string> labels;
  for (const auto& g : groups) labels.push_back(g.first);
  return s + legend(labels) + "</svg>\n";
}

}  // namespace lethe::eval::svg
