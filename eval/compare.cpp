#include "eval/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <tuple>

#include "data/forget.h"
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

// FT AUC: the RMIA forget-vs-test AUC in percent (online first), else -1.
double ft_auc_of(const nlohmann::json& m, std::string* attack) {
  if (!m.contains("mia") || !m["mia"].is_object()) return -1;
  for (const char* a : {"rmia-online", "rmia-offline"}) {
    const nlohmann::json& mia = m["mia"];
    if (mia.contains(a) && mia[a].is_object() && mia[a].contains("forget_vs_test") &&
        mia[a]["forget_vs_test"].contains("auc")) {
      *attack = a;
      return 100.0 * mia[a]["forget_vs_test"]["auc"].get<double>();
    }
  }
  return -1;
}

CompareRow read_group(const std::string& dir, const std::vector<std::string>& members);

CompareRow read_row(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> members = seed_group_members(dir);
  if (!members.empty()) return read_group(dir, members);
  LETHE_CHECK(fs::exists(dir + "/metrics.json"), "compare: '", dir,
              "' has no metrics.json (nor seed-*/metrics.json of a seeds group)");
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
  r.ft_auc = ft_auc_of(m, &r.ft_auc_attack);
  if (fs::exists(dir + "/forget.txt")) {
    r.forget_set = data::read_index_file(dir + "/forget.txt", std::numeric_limits<int64_t>::max());
    std::sort(r.forget_set.begin(), r.forget_set.end());
  }
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

// Refuses rows (and the reference) evaluated on different forget sets, naming the first pair.
void check_forget_sets(const std::vector<CompareRow>& rows) {
  const CompareRow* first = nullptr;
  for (const CompareRow& r : rows) {
    if (r.forget_set.empty()) continue;
    if (!first) {
      first = &r;
      continue;
    }
    LETHE_CHECK(r.forget_set == first->forget_set, "compare: ", first->dir, " and ", r.dir,
                " were measured on different forget sets (", first->forget_set.size(), " and ",
                r.forget_set.size(),
                " rows in their forget.txt); pass --allow-different-forget to compare them anyway");
  }
}

// Mean and sample standard deviation of `v`; a mean of -1 when any value is missing (-1), and a
// deviation of -1 with fewer than two values.
std::pair<double, double> mean_sd(const std::vector<double>& v) {
  if (v.empty() || std::any_of(v.begin(), v.end(), [](double x) { return x < 0; })) return {-1, -1};
  double m = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  if (v.size() < 2) return {m, -1};
  double q = 0;
  for (double x : v) q += (x - m) * (x - m);
  return {m, std::sqrt(q / static_cast<double>(v.size() - 1))};
}

CompareRow read_group(const std::string& dir, const std::vector<std::string>& members) {
  CompareRow g;
  g.dir = dir;
  for (const std::string& m : members) g.members.push_back(read_row(m));
  const CompareRow& first = g.members.front();
  for (const CompareRow& m : g.members)  // one forget set per group, whatever the flag says
    LETHE_CHECK(m.forget_set == first.forget_set, "compare: seeds group ", dir, ": ", first.dir,
                " and ", m.dir, " removed different forget sets");
  g.method = first.method;
  g.forget_set = first.forget_set;
  g.ft_auc_attack = first.ft_auc_attack;
  auto column = [&g](double CompareRow::*field, double CompareRow::*sd_field) {
    std::vector<double> v;
    for (const CompareRow& m : g.members) v.push_back(m.*field);
    std::tie(g.*field, g.*sd_field) = mean_sd(v);
  };
  column(&CompareRow::forget, &CompareRow::forget_sd);
  column(&CompareRow::retain, &CompareRow::retain_sd);
  column(&CompareRow::test, &CompareRow::test_sd);
  column(&CompareRow::mia, &CompareRow::mia_sd);
  column(&CompareRow::ft_auc, &CompareRow::ft_auc_sd);
  column(&CompareRow::seconds, &CompareRow::seconds_sd);
  for (const CompareRow& m : g.members)
    LETHE_CHECK(m.ft_auc < 0 || m.ft_auc_attack == g.ft_auc_attack, "compare: ", first.dir, " and ",
                m.dir, " of one seeds group measured FT AUC with different attacks (",
                g.ft_auc_attack, ", ", m.ft_auc_attack, ")");
  // Details: the mean of each column every member has.
  for (const auto& [k, v0] : first.details) {
    std::vector<double> v;
    for (const CompareRow& m : g.members)
      for (const auto& [k2, x] : m.details)
        if (k2 == k) v.push_back(x);
    if (v.size() == g.members.size()) {
      double sum = 0;
      for (double x : v) sum += x;
      g.details.emplace_back(k, sum / static_cast<double>(v.size()));
    }
  }
  return g;
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

std::string fmt_sd(double v, double sd) {
  return v < 0 || sd < 0 ? fmt(v) : fmt(v) + " ± " + fmt(sd);
}

}  // namespace

namespace {

// The gap's four columns of a row, with what produces each when it is missing.
struct GapColumn {
  const char* name;
  double value;
  const char* command;
};
std::vector<GapColumn> gap_columns(const CompareRow& r, const std::string& gap) {
  const char* forget_cmd = "lethe eval --from RUN --forget-file REFERENCE/forget.txt --out EVAL";
  std::vector<GapColumn> c = {{"forget acc", r.forget, forget_cmd},
                              {"retain acc", r.forget >= 0 ? r.retain : -1, forget_cmd},
                              {"test acc", r.test, "lethe eval --from RUN --out EVAL"}};
  if (gap == "svc")
    c.push_back({"SVC MIA", r.mia, "lethe eval --from RUN --forget-file F --mia svc --out EVAL"});
  else
    c.push_back(
        {"FT AUC", r.ft_auc,
         "lethe eval --from RUN --forget-file F --mia rmia-online --references REFS --out EVAL "
         "(REFS from lethe train --reference-models M)"});
  return c;
}

}  // namespace

std::vector<std::string> seed_group_members(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "metrics.json", ec) || !fs::is_directory(dir, ec)) return {};
  std::vector<std::pair<long long, std::string>> found;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("seed-", 0) != 0 || name.size() == 5) continue;
    char* end = nullptr;
    const long long seed = std::strtoll(name.c_str() + 5, &end, 10);
    if (*end != '\0' || !fs::exists(e.path() / "metrics.json", ec)) continue;
    found.emplace_back(seed, e.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [seed, p] : found) out.push_back(p);
  return out;
}

std::vector<CompareRow> compare_runs(const std::vector<std::string>& dirs,
                                     const std::string& reference, const CompareOptions& opt) {
  LETHE_CHECK(opt.gap == "amun" || opt.gap == "svc", "--gap: unknown '", opt.gap,
              "' (use amun or svc)");
  std::vector<CompareRow> rows;
  for (const std::string& d : dirs) rows.push_back(read_row(d));
  CompareRow ref;
  if (!reference.empty()) ref = read_row(reference);
  if (!opt.allow_different_forget) {
    std::vector<CompareRow> all = rows;
    if (!reference.empty()) all.push_back(ref);
    check_forget_sets(all);
  }
  if (reference.empty()) return rows;
  std::string ref_missing;
  std::vector<GapColumn> rc = gap_columns(ref, opt.gap);
  for (const GapColumn& c : rc)
    if (c.value < 0) ref_missing += std::string(ref_missing.empty() ? "" : ", ") + c.name;
  // One run's gap to the reference (the reference's means when it is a seeds group).
  auto gap_of = [&](CompareRow& r) {
    if (!ref_missing.empty()) {
      r.gap_missing = "the reference lacks " + ref_missing;
      return;
    }
    std::vector<GapColumn> cols = gap_columns(r, opt.gap);
    double sum = 0;
    std::string missing, cmd;
    for (size_t i = 0; i < cols.size(); ++i) {
      if (cols[i].value < 0) {
        missing += std::string(missing.empty() ? "" : ", ") + cols[i].name;
        if (cmd.find(cols[i].command) == std::string::npos)
          cmd += std::string(cmd.empty() ? "" : "; ") + cols[i].command;
      } else {
        sum += std::fabs(cols[i].value - rc[i].value);
      }
    }
    if (missing.empty())
      r.avg_gap = sum / static_cast<double>(cols.size());
    else
      r.gap_missing = "lacks " + missing + ": " + cmd;
  };
  for (CompareRow& r : rows) {
    if (!r.model.empty() && !ref.model.empty()) {
      double d = param_distance(r.model, ref.model);
      if (d >= 0) r.details.emplace_back("param dist", d);
    }
    if (r.members.empty()) {
      gap_of(r);
      continue;
    }
    // A group's gap: the mean (± sd) of its runs' own gaps.
    std::vector<double> gaps;
    for (CompareRow& m : r.members) {
      gap_of(m);
      if (m.avg_gap < 0 && r.gap_missing.empty()) r.gap_missing = m.dir + " " + m.gap_missing;
      gaps.push_back(m.avg_gap);
    }
    if (r.gap_missing.empty()) std::tie(r.avg_gap, r.avg_gap_sd) = mean_sd(gaps);
  }
  // Gaps closer to the best one than the spread of either: not distinguishable at these seeds.
  // The reference's own row (its seed noise against its mean) is no contender.
  const CompareRow* best = nullptr;
  for (const CompareRow& r : rows)
    if (r.avg_gap >= 0 && r.dir != reference && (!best || r.avg_gap < best->avg_gap)) best = &r;
  if (best)
    for (CompareRow& r : rows) {
      const double spread = std::max(r.avg_gap_sd, best->avg_gap_sd);
      if (&r != best && r.dir != reference && r.avg_gap >= 0 && spread > 0 &&
          r.avg_gap - best->avg_gap < spread)
        r.within_spread = true;
    }
  return rows;
}

std::string to_markdown(const std::vector<CompareRow>& rows, const std::string& reference,
                        const CompareOptions& opt) {
  const bool svc = opt.gap == "svc";
  std::string s = std::string("| run | method | forget acc | retain acc | test acc | ") +
                  (svc ? "SVC MIA" : "FT AUC") + " | time s | avg gap |\n";
  s += "|---|---|---|---|---|---|---|---|\n";
  std::string notes;
  int note = 0;
  bool groups = false, marked = false;
  std::string best_dir;
  double best_gap = -1;
  for (const CompareRow& r : rows)
    if (r.avg_gap >= 0 && r.dir != reference && (best_gap < 0 || r.avg_gap < best_gap))
      best_gap = r.avg_gap, best_dir = r.dir;
  for (const CompareRow& r : rows) {
    std::string gap = fmt_sd(r.avg_gap, r.avg_gap_sd);
    if (r.within_spread) gap = "≈ " + gap, marked = true;
    if (!reference.empty() && r.avg_gap < 0) {
      gap = "n/a [" + std::to_string(++note) + "]";
      notes += "[" + std::to_string(note) + "] " + r.dir + ": " + r.gap_missing + "\n";
    }
    std::string method = r.method;
    if (!r.members.empty()) {
      method += " (" + std::to_string(r.members.size()) + " seeds)";
      groups = true;
    }
    s += "| " + r.dir + " | " + method + " | " + fmt_sd(r.forget, r.forget_sd) + " | " +
         fmt_sd(r.retain, r.retain_sd) + " | " + fmt_sd(r.test, r.test_sd) + " | " +
         (svc ? fmt_sd(r.mia, r.mia_sd) : fmt_sd(r.ft_auc, r.ft_auc_sd)) + " | " +
         fmt_sd(r.seconds, r.seconds_sd) + " | " + gap + " |\n";
  }
  if (groups)
    s += "\nRows of seeds groups: mean ± sample standard deviation over their runs; a group's gap "
         "is the mean of its runs' gaps.\n";
  if (marked)
    s += "≈: the gap differs from the best one (" + best_dir +
         ") by less than the larger standard deviation of the two: not distinguishable at these "
         "seeds.\n";
  if (!reference.empty()) {
    s += svc ? "\navg gap (--gap svc): mean of |run − " + reference +
                   "| over forget, retain and test accuracy and SVC-MIA efficacy (all in %).\n"
             : "\navg gap (AMUN's Avg. Gap): mean of |run − " + reference +
                   "| over forget, retain and test accuracy and FT AUC (RMIA forget-vs-test AUC, "
                   "in %).\n";
    if (!notes.empty()) s += "\n" + notes;
  }
  return s;
}

std::string to_csv(const std::vector<CompareRow>& rows) {
  std::vector<std::string> cols;
  for (const CompareRow& r : rows)
    for (const auto& [k, v] : r.details)
      if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
  std::string s =
      "run,method,forget_acc,retain_acc,test_acc,mia,ft_auc,ft_auc_attack,time_s,avg_gap,runs,"
      "forget_acc_sd,retain_acc_sd,test_acc_sd,mia_sd,ft_auc_sd,time_s_sd,avg_gap_sd";
  for (const std::string& c : cols) s += ",\"" + c + "\"";
  s += "\n";
  auto num = [](double v) { return v < 0 ? std::string() : std::to_string(v); };
  for (const CompareRow& r : rows) {
    s += r.dir + "," + r.method + "," + num(r.forget) + "," + num(r.retain) + "," + num(r.test) +
         "," + num(r.mia) + "," + num(r.ft_auc) + "," + r.ft_auc_attack + "," + num(r.seconds) +
         "," + num(r.avg_gap) + "," + std::to_string(r.members.empty() ? 1 : r.members.size());
    for (double sd :
         {r.forget_sd, r.retain_sd, r.test_sd, r.mia_sd, r.ft_auc_sd, r.seconds_sd, r.avg_gap_sd}) {
      s += ',';
      s += num(sd);
    }
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
                        const std::string& out, const CompareOptions& opt) {
  std::vector<CompareRow> rows = compare_runs(dirs, reference, opt);
  std::string md = to_markdown(rows, reference, opt);
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
