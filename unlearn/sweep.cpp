#include "unlearn/sweep.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/dist/communicator.h"
#include "engine/io/run_dir.h"
#include "engine/profile/progress.h"
#include "eval/compare.h"
#include "eval/report/svg.h"
#include "eval/run_eval.h"
#include "unlearn/run.h"

namespace lethe::unlearn {
namespace {

std::string dir_name(const std::string& method, const std::string& scope) {
  std::string s = scope;
  std::replace(s.begin(), s.end(), ':', '_');
  std::replace(s.begin(), s.end(), ',', '+');
  return method + "-" + s;
}

std::string num(double v, int prec = 2) {
  if (v < 0) return "—";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

// A finished run of this request: both metrics.json files, and the run's config records the same
// job (an interrupted or differently configured run is redone).
bool finished(const std::string& dir, const UnlearnRequest& u, const std::string& eval_dir) {
  namespace fs = std::filesystem;
  if (!fs::exists(dir + "/metrics.json") || !fs::exists(eval_dir + "/metrics.json") ||
      !fs::exists(dir + "/config.json"))
    return false;
  try {
    const nlohmann::json c = io::read_json(dir + "/config.json");
    nlohmann::json want = unlearn_identity(u.from, u.method, u.forget, u.opt);
    want["cache_mb"] = u.opt.cache_mb;
    for (const auto& [k, v] : want.items())
      if (c.value(k, nlohmann::json()) != v) return false;
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

nlohmann::json run_sweep(const SweepRequest& req) {
  LETHE_CHECK(!req.methods.empty(), "--method: at least one method is required");
  LETHE_CHECK(!req.scopes.empty(), "--layers: at least one scope is required");
  LETHE_CHECK(!req.forget.empty(), "--forget: a forget SPEC is required");
  for (const std::string& m : req.methods) make_method(m);  // unknown names fail here, early
  if (req.threads > 0) omp_set_num_threads(req.threads);
  // Several ranks (mpirun): run j is rank j mod N's unit, done alone on that rank (UnitScope:
  // no data parallelism inside), so its directory is what one rank would write; rank 0 reads
  // them all once every rank is done and writes the tables. DIR must be seen by every rank.
  const dist::Communicator& world = dist::current();
  if (world.is_root()) io::prepare_run_dir(req.out, req.overwrite);
  world.barrier();

  // (method, scope) runs: each scope's reference first, the full retrain, then the methods.
  std::vector<std::pair<std::string, std::string>> jobs;
  auto add = [&jobs](const std::string& m, const std::string& s) {
    if (std::find(jobs.begin(), jobs.end(), std::pair{m, s}) == jobs.end()) jobs.emplace_back(m, s);
  };
  for (const std::string& s : req.scopes) add("retrain", s);
  add("retrain", "all");
  // The head's closed-form reference (newton: one Newton step on the L2-regularised head, Guo et
  // al. 2020) beside its retrain; a head-only method, so at the head scope alone.
  const bool has_head = std::find(req.scopes.begin(), req.scopes.end(), "head") != req.scopes.end();
  if (has_head) add("newton", "head");
  for (const std::string& m : req.methods)
    for (const std::string& s : req.scopes)
      if (m != "newton" || s == "head") add(m, s);

  profile::Progress prog("sweep", static_cast<int64_t>(jobs.size()), "run");
  for (size_t j = static_cast<size_t>(world.rank()); j < jobs.size(); j += world.size()) {
    const auto& [m, s] = jobs[j];
    dist::UnitScope unit;
    const std::string dir = req.out + "/" + dir_name(m, s);
    std::fprintf(stderr, "sweep: %s%s --layers %s\n", dist::rank_prefix().c_str(), m.c_str(),
                 s.c_str());
    UnlearnRequest u;
    u.from = req.from;
    u.method = m;
    u.forget = req.forget;
    u.out = dir;
    u.opt = req.opt;
    u.opt.layers = s;
    if (m == "retrain") u.opt.epochs = -1, u.opt.lr = -1;  // the original recipe: exact
    u.threads = req.threads;
    u.overwrite = true;  // inside the sweep's own directory
    if (finished(dir, u, dir + "-eval")) {
      std::fprintf(stderr, "sweep: %s --layers %s done (%s), not redone\n", m.c_str(), s.c_str(),
                   dir.c_str());
      prog.advance(1, m + " " + s + " (done)");
      continue;
    }
    const bool listed = std::find(req.methods.begin(), req.methods.end(), m) != req.methods.end();
    if (m == "newton" && !listed) {
      // Added by the sweep: a model it cannot serve (no L2 term, a head that is not linear) gets
      // a row saying why instead of ending the sweep.
      // The reason goes to a file: with several ranks the table is written by rank 0.
      const std::string skipped = dir + ".skipped";
      std::filesystem::remove(skipped);
      try {
        run_unlearning(u);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "sweep: newton --layers head skipped: %s\n", e.what());
        io::write_text_atomic(skipped, e.what());
        prog.advance(1, m + " " + s + " (skipped)");
        continue;
      }
    } else {
      run_unlearning(u);
    }
    eval::EvalRequest e;
    e.from = dir;
    e.forget_file = dir + "/forget.txt";
    e.out = dir + "-eval";
    e.mia = req.mia;
    e.norm_stats = req.norm_stats;
    e.attack = req.attack;
    e.attack_samples = req.attack_samples;
    e.threads = req.threads;
    e.overwrite = true;
    eval::run_eval(e);
    prog.advance(1, m + " " + s);
  }
  prog.finish();
  world.barrier();  // every run and its evaluation are on disk
  if (!world.is_root()) return {{"rank", world.rank()}, {"ranks", world.size()}};

  const std::string full_ref = req.out + "/" + dir_name("retrain", "all") + "-eval";
  nlohmann::json rows = nlohmann::json::array();
  std::string md =
      "| method | scope | forget | retain | test | gap to full retrain | gap to scope "
      "retrain | MIA | fairness gap | unlearn s | GFLOP | peak MiB (+ run) | cache KiB |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  std::string csv =
      "method,scope,forget_acc,retain_acc,test_acc,avg_gap_full,avg_gap_scope,mia,mia_name,"
      "fairness_gap,unlearn_s,flops,peak_tensor_bytes,start_tensor_bytes,cache_bytes\n";
  std::string notes;
  std::map<std::string, eval::svg::Series> lines;
  for (const auto& [m, s] : jobs) {
    const std::string dir = req.out + "/" + dir_name(m, s);
    if (std::filesystem::exists(dir + ".skipped")) {
      std::ifstream f(dir + ".skipped");
      const std::string why((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      rows.push_back({{"method", m}, {"scope", s}, {"skipped", why}});
      md += "| " + m + " | " + s + " | n/a¹ | | | | | | | | | | |\n";
      notes += "\n¹ " + m + " --layers " + s + " did not run: " + why + "\n";
      continue;
    }
    const std::string ev = dir + "-eval";
    const std::string scope_ref = req.out + "/" + dir_name("retrain", s) + "-eval";
    // The gap over forget/retain/test accuracy and SVC-MIA efficacy (lethe compare --gap svc:
    // the sweep trains no reference models for AMUN's FT AUC); n/a when --mia lacks svc.
    eval::CompareOptions co;
    co.gap = "svc";
    eval::CompareRow full = eval::compare_runs({ev}, full_ref, co)[0];
    eval::CompareRow own = eval::compare_runs({ev}, scope_ref, co)[0];
    nlohmann::json um = io::read_json(dir + "/metrics.json");
    // MIA: SVC-MIA efficacy (percent) when evaluated, else the first attack's forget-vs-test AUC.
    double mia = full.mia;
    std::string mia_name = mia >= 0 ? "svc efficacy %" : "";
    double fairness = -1;
    for (const auto& [k, v] : full.details) {
      if (mia < 0 && k.size() > 4 && k.compare(k.size() - 4, 4, " AUC") == 0) {
        mia = v;
        mia_name = k;
      }
      if (k == "fairness gap") fairness = v;
    }
    const double cache_bytes =
        um.contains("prefix_cache") ? um["prefix_cache"].value("bytes", 0.0) : 0.0;
    const double flops =
        um.contains("flops") ? um["flops"].value("total", -1.0) : -1.0;  // runs before it: —
    const double peak = um.value("peak_tensor_bytes", -1.0);
    const double start = um.value("start_tensor_bytes", 0.0);
    const std::string peak_cell =
        peak < 0 ? "—" : num(peak / 1048576, 1) + " (+" + num((peak - start) / 1048576, 1) + ")";
    nlohmann::json row = {{"method", m},
                          {"scope", s},
                          {"dir", dir},
                          {"forget_acc", full.forget},
                          {"retain_acc", full.retain},
                          {"test_acc", full.test},
                          {"avg_gap_full_retrain", full.avg_gap},
                          {"avg_gap_scope_retrain", own.avg_gap},
                          {"mia", mia},
                          {"mia_name", mia_name},
                          {"fairness_gap", fairness},
                          {"unlearn_s", full.seconds},
                          {"flops", um.value("flops", nlohmann::json::object())},
                          {"peak_tensor_bytes", peak},
                          {"start_tensor_bytes", start},
                          {"phases_s", um.value("phases_s", nlohmann::json::object())},
                          {"prefix_cache", um.value("prefix_cache", nlohmann::json::object())}};
    rows.push_back(row);
    md += "| " + m + " | " + s + " | " + num(full.forget) + " | " + num(full.retain) + " | " +
          num(full.test) + " | " + num(full.avg_gap) + " | " + num(own.avg_gap) + " | " +
          num(mia, 3) + " | " + num(fairness, 4) + " | " + num(full.seconds, 2) + " | " +
          (flops < 0 ? "—" : num(flops / 1e9, 1)) + " | " + peak_cell + " | " +
          (cache_bytes > 0 ? num(cache_bytes / 1024, 1) : "—") + " |\n";
    csv += m + "," + s + "," + std::to_string(full.forget) + "," + std::to_string(full.retain) +
           "," + std::to_string(full.test) + "," + std::to_string(full.avg_gap) + "," +
           std::to_string(own.avg_gap) + "," + std::to_string(mia) + "," + mia_name + "," +
           std::to_string(fairness) + "," + std::to_string(full.seconds) + "," +
           std::to_string(flops) + "," + std::to_string(static_cast<int64_t>(peak)) + "," +
           std::to_string(static_cast<int64_t>(start)) + "," +
           std::to_string(static_cast<int64_t>(cache_bytes)) + "\n";
    if (m == "newton") continue;  // one point, not a line across depth
    eval::svg::Series& line = lines[m];
    line.label = m;
    line.x.push_back(full.seconds);
    line.y.push_back(full.avg_gap);
  }
  std::vector<eval::svg::Series> series;
  for (auto& [m, l] : lines) series.push_back(l);
  eval::svg::LineOptions lo;
  lo.title = "average gap to the full retrain against unlearning time, across --layers";
  lo.xlabel = "unlearning time (s)";
  lo.ylabel = "average gap (points)";
  lo.auto_range = true;
  nlohmann::json out = {
      {"from", req.from},          {"forget", req.forget}, {"methods", req.methods},
      {"scopes", req.scopes},      {"mia", req.mia},       {"rows", rows},
      {"full_reference", full_ref}};
  md += notes;
  io::write_text_atomic(req.out + "/sweep.md", md);
  io::write_text_atomic(req.out + "/sweep.csv", csv);
  io::write_text_atomic(req.out + "/sweep.svg", eval::svg::line_plot(series, lo));
  io::write_json_atomic(req.out + "/sweep.json", out);
  std::printf("%s", md.c_str());
  return out;
}

}  // namespace lethe::unlearn
