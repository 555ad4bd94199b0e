#include "eval/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "engine/core/error.h"
#include "engine/io/run_dir.h"
#include "engine/io/safetensors.h"
#include "eval/report/svg.h"

namespace lethe::eval {
namespace {

double get(const nlohmann::json& m, const char* k) {
  return m.contains(k) && m[k].is_number() ? m[k].get<double>() : -1;
}

// The SVC-MIA efficacy in percent when present (the metric of the SalUn/ℓ1 papers and the MIA
// column of AMUN's table), else -1. metrics.json stores it as a share in [0, 1].
double mia_of(const nlohmann::json& m) {
  if (!m.contains("mia") || !m["mia"].is_object()) return -1;
  const nlohmann::json& a = m["mia"];
  if (a.contains("svc") && a["svc"].contains("efficacy"))
    return 100.0 * a["svc"]["efficacy"].get<double>();
  return -1;
}

CompareRow read_row(const std::string& dir) {
  namespace fs = std::filesystem;
  LETHE_CHECK(fs::exists(dir + "/metrics.json"), "compare: '", dir, "' has no metrics.json");
  nlohmann::json m = io::read_json(dir + "/metrics.json");
  CompareRow r;
  r.dir = dir;
  r.method = m.value("method", std::string());
  if (r.method.empty() && fs::exists(dir + "/config.json")) {
    nlohmann::json c = io::read_json(dir + "/config.json");
    r.method =
        c.contains("exclude") && !c["exclude"].get<std::string>().empty() ? "retrain" : "original";
  }
  r.forget = get(m, "forget_acc");
  r.retain = get(m, "retain_acc");
  if (r.retain < 0) r.retain = get(m, "train_acc");
  r.test = get(m, "test_acc");
  r.mia = mia_of(m);
  if (m.contains("mia") && m["mia"].is_object())
    for (const auto& [k, v] : m["mia"].items())
      if (k != "svc" && v.is_object() && v.contains("auc") && v["auc"].is_number())
        r.details.emplace_back(k + " AUC", v["auc"].get<double>());
  if (m.contains("robust") && m["robust"].is_object())
    for (const auto& [k, v] : m["robust"].items())
      if (v.is_object() && v.contains("acc") && v["acc"].is_number())
        r.details.emplace_back((v.contains("spec") ? v["spec"].get<std::string>() : k) + " acc",
                               v["acc"].get<double>());
  if (m.contains("bn_stats") && m["bn_stats"].is_object()) {
    const nlohmann::json& b = m["bn_stats"];
    if (b.contains("mean_fairness_gap") && b["mean_fairness_gap"].is_number())
      r.details.emplace_back("fairness gap", b["mean_fairness_gap"].get<double>());
    if (b.contains("order") && b.contains("layers"))
      for (const auto& n : b["order"]) {
        const nlohmann::json& l = b["layers"][n.get<std::string>()];
        if (l.contains("fairness_gap"))
          r.layer_gaps.emplace_back(n, l["fairness_gap"].get<double>());
      }
  }
  // Group fairness on the test split (Fairlearn's differences; null = undefined is left out).
  if (m.contains("fairness") && m["fairness"].is_object() && m["fairness"].contains("splits") &&
      m["fairness"]["splits"].contains("test")) {
    const nlohmann::json& t = m["fairness"]["splits"]["test"];
    for (auto [key, col] : {std::pair{"demographic_parity_difference", "test DP diff"},
                            std::pair{"equal_opportunity_difference", "test EOpp diff"},
                            std::pair{"equalized_odds_difference", "test EOdds diff"}})
      if (t.contains(key) && t[key].is_number()) r.details.emplace_back(col, t[key].get<double>());
  }
  r.model = fs::exists(dir + "/model.safetensors") ? dir + "/model.safetensors" : "";
  r.seconds = m.contains("unlearn_s") ? get(m, "unlearn_s") : get(m, "wall_s");
  // An evaluation directory (lethe eval) names the run it evaluated: its method and its time
  // (unlearning, or training for an original) are that run's.
  if (m.contains("from") && m["from"].is_string() && m["from"].get<std::string>() != dir) {
    std::string from = m["from"].get<std::string>();
    if (fs::exists(from + "/metrics.json")) {
      CompareRow src = read_row(from);
      r.method = src.method;
      r.seconds = src.seconds;
      if (r.model.empty()) r.model = src.model;
    }
  }
  return r;
}

// ||a − b||₂ over every float tensor of two checkpoints; -1 when their tensors differ in names
// or shapes (different architectures are not comparable).
double param_distance(const std::string& a, const std::string& b) {
  io::SafetensorsFile fa = io::read_safetensors(a), fb = io::read_safetensors(b);
  double sq = 0;
  for (const auto& [name, ta] : fa.tensors) {
    auto it = fb.tensors.find(name);
    if (it == fb.tensors.end() || it->second.shape != ta.shape) return -1;
    if (ta.dtype == io::StDType::I64 || ta.dtype == io::StDType::I32 ||
        ta.dtype == io::StDType::U8 || ta.dtype == io::StDType::BOOL)
      continue;  // counters such as num_batches_tracked
    std::vector<float> va = io::to_f32(ta, name), vb = io::to_f32(it->second, name);
    for (size_t i = 0; i < va.size(); ++i)
      sq += (static_cast<double>(va[i]) - vb[i]) * (va[i] - vb[i]);
  }
  return fa.tensors.size() == fb.tensors.size() ? std::sqrt(sq) : -1;
}

std::string fmt(double v) {
  if (v < 0) return "–";
  char b[32];
  std::snprintf(b, sizeof b, "%.2f", v);
  return b;
}

}  // namespace

std::vector<CompareRow> compare_runs(const std::vector<std::string>& dirs,
                                     const std::string& reference) {
  std::vector<CompareRow> rows;
  for (const std::string& d : dirs) rows.push_back(read_row(d));
  if (reference.empty()) return rows;
  CompareRow ref = read_row(reference);
  for (CompareRow& r : rows) {
    double sum = 0;
    int n = 0;
    for (auto [a, b] : {std::pair{r.forget, ref.forget}, std::pair{r.retain, ref.retain},
                        std::pair{r.test, ref.test}, std::pair{r.mia, ref.mia}})
      if (a >= 0 && b >= 0) {
        sum += std::fabs(a - b);
        ++n;
      }
    r.avg_gap = n ? sum / n : -1;
    if (!r.model.empty() && !ref.model.empty()) {
      double d = param_distance(r.model, ref.model);
      if (d >= 0) r.details.emplace_back("param dist", d);
    }
  }
  return rows;
}

std::string to_markdown(const std::vector<CompareRow>& rows, const std::string& reference) {
  std::string s =
      "| run | method | forget acc | retain acc | test acc | MIA | time s | avg gap |\n";
  s += "|---|---|---|---|---|---|---|---|\n";
  for (const CompareRow& r : rows)
    s += "| " + r.dir + " | " + r.method + " | " + fmt(r.forget) + " | " + fmt(r.retain) + " | " +
         fmt(r.test) + " | " + fmt(r.mia) + " | " + fmt(r.seconds) + " | " + fmt(r.avg_gap) +
         " |\n";
  if (!reference.empty())
    s += "\navg gap: mean over the columns present of |run − " + reference +
         "| (accuracies in %, MIA = SVC efficacy in % when evaluated).\n";
  return s;
}

std::string to_csv(const std::vector<CompareRow>& rows) {
  std::vector<std::string> cols;
  for (const CompareRow& r : rows)
    for (const auto& [k, v] : r.details)
      if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
  std::string s = "run,method,forget_acc,retain_acc,test_acc,mia,time_s,avg_gap";
  for (const std::string& c : cols) s += ",\"" + c + "\"";
  s += "\n";
  auto num = [](double v) { return v < 0 ? std::string() : std::to_string(v); };
  for (const CompareRow& r : rows) {
    s += r.dir + "," + r.method + "," + num(r.forget) + "," + num(r.retain) + "," + num(r.test) +
         "," + num(r.mia) + "," + num(r.seconds) + "," + num(r.avg_gap);
    for (const std::string& c : cols) {
      double v = -1;
      for (const auto& [k, x] : r.details)
        if (k == c) v = x;
      s += ',';  // appended piecewise: GCC 12's -Wrestrict misfires on "," + std::string
      s += num(v);
    }
    s += "\n";
  }
  return s;
}

std::string details_markdown(const std::vector<CompareRow>& rows) {
  std::vector<std::string> cols;
  for (const CompareRow& r : rows)
    for (const auto& [k, v] : r.details)
      if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
  if (cols.empty()) return "";
  std::string s = "| run | method |";
  std::string rule = "|---|---|";
  for (const std::string& c : cols) s += " " + c + " |", rule += "---|";
  s += "\n" + rule + "\n";
  for (const CompareRow& r : rows) {
    s += "| " + r.dir + " | " + r.method + " |";
    for (const std::string& c : cols) {
      double v = -1;
      for (const auto& [k, x] : r.details)
        if (k == c) v = x;
      char b[32];
      std::snprintf(b, sizeof b, "%.4g", v);
      s += ' ';
      s += v < 0 ? "–" : b;
      s += " |";
    }
    s += "\n";
  }
  s += "\nAUC: forget vs test (balanced, mean of 3 draws); acc: robust accuracy on test (%); "
       "fairness gap: mean over normalization layers of max_c − min_c of the class-wise std of "
       "the layer input; test DP/EOpp/EOdds diff: Fairlearn's demographic-parity, "
       "equal-opportunity (TPR) and equalized-odds differences over the protected groups on "
       "test; param dist: ||θ − θ_reference||₂ over all parameters.\n";
  return s;
}

std::string fairness_svg(const std::vector<CompareRow>& rows) {
  std::vector<std::string> layers;
  for (const CompareRow& r : rows)
    if (r.layer_gaps.size() > layers.size()) {
      layers.clear();
      for (const auto& [n, g] : r.layer_gaps) layers.push_back(n);
    }
  if (layers.empty()) return "";
  std::vector<std::pair<std::string, std::vector<double>>> groups;
  for (const CompareRow& r : rows) {
    if (r.layer_gaps.empty()) continue;
    std::vector<double> v(layers.size(), 0.0);
    for (const auto& [n, g] : r.layer_gaps) {
      auto it = std::find(layers.begin(), layers.end(), n);
      if (it != layers.end()) v[static_cast<size_t>(it - layers.begin())] = g;
    }
    groups.emplace_back(r.method.empty() ? r.dir : r.method, v);
  }
  svg::BarOptions bo;
  bo.title = "fairness gap per normalization layer";
  bo.ylabel = "max - min over classes of std (layer input)";
  return svg::bar_chart(layers, groups, bo);
}

std::string run_compare(const std::vector<std::string>& dirs, const std::string& reference,
                        const std::string& out) {
  std::vector<CompareRow> rows = compare_runs(dirs, reference);
  std::string md = to_markdown(rows, reference);
  std::string details = details_markdown(rows);
  if (!details.empty()) md += "\n" + details;
  if (!out.empty()) {
    io::prepare_run_dir(out, true, "--out");
    io::write_text_atomic(out + "/compare.md", md);
    io::write_text_atomic(out + "/compare.csv", to_csv(rows));
    std::string fair = fairness_svg(rows);
    if (!fair.empty()) io::write_text_atomic(out + "/fairness_gap.svg", fair);
  }
  return md;
}

}  // namespace lethe::eval
