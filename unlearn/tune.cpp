#include "unlearn/tune.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "data/random.h"
#include "engine/core/error.h"
#include "engine/dist/communicator.h"
#include "engine/io/run_dir.h"
#include "eval/run_eval.h"
#include "unlearn/options.h"
#include "unlearn/registry.h"
#include "unlearn/run.h"

namespace lethe::unlearn {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t end = s.find(',', pos);
    out.push_back(s.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return out;
}

// A directory-safe rendering of a setting: [A-Za-z0-9.+-] kept, anything else '_'.
std::string safe(const std::string& s) {
  std::string o = s;
  for (char& c : o)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '+' && c != '-') c = '_';
  return o;
}

std::string candidates_dir(const TuneRequest& req) {
  return req.out + "/candidates";
}

std::string mia_of(const TuneRequest& req) {
  if (!req.mia.empty()) return req.mia;
  return req.gap == "svc" ? "svc" : "rmia-online";
}

std::string num(double v, int prec = 2) {
  if (v < 0) return "–";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

// The candidate's settings as lethe unlearn arguments ("--lr 0.01 --epochs 5 --opt ratio=0.3").
std::string as_arguments(const TuneCandidate& c) {
  std::string a;
  for (const auto& [k, v] : c.settings) {
    if (!a.empty()) a += ' ';
    const bool common = k == "lr" || k == "epochs" || k == "batch";
    a += common ? "--" : "--opt ";
    a += k;
    a += common ? ' ' : '=';
    a += v;
  }
  return a;
}

nlohmann::json row_json(const CandidateResult& r) {
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& [k, v] : r.candidate.settings) settings[k] = v;
  const eval::CompareRow& w = r.row;
  return {{"name", r.candidate.name}, {"index", r.candidate.index},
          {"settings", settings},     {"dir", r.dir},
          {"eval_dir", r.eval_dir},   {"forget_acc", w.forget},
          {"retain_acc", w.retain},   {"test_acc", w.test},
          {"svc_mia", w.mia},         {"ft_auc", w.ft_auc},
          {"unlearn_s", w.seconds},   {"avg_gap", w.avg_gap},
          {"reused", r.reused},       {"args", as_arguments(r.candidate)}};
}

// The request fields that decide what a candidate's directory holds (not threads, not budget).
nlohmann::json request_identity(const TuneRequest& req) {
  nlohmann::json id = unlearn_identity(req.from, req.method, req.forget, req.opt);
  id.update(nlohmann::json{{"reference", req.reference},
                           {"gap", req.gap},
                           {"mia", mia_of(req)},
                           {"references", req.references}});
  return id;
}

}  // namespace

std::vector<TuneAxis> parse_grid(const std::vector<std::string>& specs) {
  std::vector<TuneAxis> grid;
  for (const std::string& s : specs) {
    size_t eq = s.find('=');
    LETHE_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < s.size(), "--grid '", s,
                "': expected KEY=V1,V2,...");
    TuneAxis a{s.substr(0, eq), split_commas(s.substr(eq + 1))};
    for (const std::string& v : a.values)
      LETHE_CHECK(!v.empty(), "--grid '", s, "': an empty value");
    for (const TuneAxis& b : grid)
      LETHE_CHECK(b.key != a.key, "--grid: key '", a.key, "' given twice");
    grid.push_back(std::move(a));
  }
  return grid;
}

std::vector<TuneCandidate> tune_candidates(const TuneRequest& req) {
  LETHE_CHECK(!req.grid.empty(), "--grid: at least one KEY=V1,V2,... is required");
  LETHE_CHECK(req.budget >= 0, "--budget must be ≥ 0, got ", req.budget);
  int64_t total = 1;
  for (const TuneAxis& a : req.grid) {
    total *= static_cast<int64_t>(a.values.size());
    LETHE_CHECK(total <= 1'000'000, "--grid: more than a million candidates");
  }
  std::vector<int64_t> chosen(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) chosen[static_cast<size_t>(i)] = i;
  if (req.budget > 0 && req.budget < total) {
    data::shuffle_with_key(chosen, data::stream_key(req.search_seed, data::kTuneSearch));
    chosen.resize(static_cast<size_t>(req.budget));
    std::sort(chosen.begin(), chosen.end());
  }
  std::vector<TuneCandidate> out;
  for (int64_t idx : chosen) {
    TuneCandidate c;
    c.index = idx;
    int64_t rest = idx;
    std::vector<size_t> pick(req.grid.size());
    for (size_t a = req.grid.size(); a-- > 0;) {  // the last axis varies fastest
      const auto n = static_cast<int64_t>(req.grid[a].values.size());
      pick[a] = static_cast<size_t>(rest % n);
      rest /= n;
    }
    for (size_t a = 0; a < req.grid.size(); ++a) {
      c.settings.emplace_back(req.grid[a].key, req.grid[a].values[pick[a]]);
      if (a) c.name += '_';
      c.name += safe(req.grid[a].key);
      c.name += '=';
      c.name += safe(req.grid[a].values[pick[a]]);
    }
    out.push_back(std::move(c));
  }
  return out;
}

UnlearnOptions candidate_options(const TuneRequest& req, const TuneCandidate& c) {
  UnlearnOptions o = req.opt;
  for (const auto& [k, v] : c.settings) {
    auto number = [&](const char* what) {
      try {
        size_t used = 0;
        double d = std::stod(v, &used);
        LETHE_CHECK(used == v.size(), "");
        return d;
      } catch (const std::exception&) {
        LETHE_FAIL("--grid ", k, "=", v, ": ", what, " must be a number");
      }
    };
    if (k == "lr") {
      o.lr = number("lr");
      LETHE_CHECK(o.lr > 0, "--grid lr=", v, ": lr must be > 0");
    } else if (k == "epochs") {
      o.epochs = static_cast<int64_t>(number("epochs"));
      LETHE_CHECK(o.epochs >= 0 && static_cast<double>(o.epochs) == number("epochs"),
                  "--grid epochs=", v, ": epochs must be a whole number ≥ 0");
    } else if (k == "batch") {
      o.batch = static_cast<int64_t>(number("batch"));
      LETHE_CHECK(o.batch >= 1, "--grid batch=", v, ": batch must be ≥ 1");
    } else {
      nlohmann::json one = parse_method_options({k + "=" + v});
      o.extra[k] = one[k];
    }
  }
  return o;
}

bool candidate_complete(const TuneRequest& req, const TuneCandidate& c) {
  const std::string dir = candidates_dir(req) + "/" + c.name;
  return fs::exists(dir + "/metrics.json") && fs::exists(dir + "-eval/metrics.json");
}

CandidateResult run_tune_candidate(const TuneRequest& req, const TuneCandidate& c) {
  CandidateResult r;
  r.candidate = c;
  r.dir = candidates_dir(req) + "/" + c.name;
  r.eval_dir = r.dir + "-eval";
  r.reused = candidate_complete(req, c);
  if (!fs::exists(r.dir + "/metrics.json")) {
    UnlearnRequest u;
    u.from = req.from;
    u.method = req.method;
    u.forget = req.forget;
    u.out = r.dir;
    u.opt = candidate_options(req, c);
    u.threads = req.threads;
    u.overwrite = true;  // an interrupted attempt in the search's own directory
    run_unlearning(u);
  }
  if (!fs::exists(r.eval_dir + "/metrics.json")) {
    eval::EvalRequest e;
    e.from = r.dir;
    e.forget_file = r.dir + "/forget.txt";
    e.out = r.eval_dir;
    e.mia = mia_of(req);
    e.references = req.references;
    e.threads = req.threads;
    e.overwrite = true;
    eval::run_eval(e);
  }
  eval::CompareOptions co;
  co.gap = req.gap;
  r.row = eval::compare_runs({r.eval_dir}, req.reference, co).at(0);
  LETHE_CHECK(r.row.avg_gap >= 0, "tune: candidate ", c.name,
              " has no average gap: ", r.row.gap_missing);
  return r;
}

nlohmann::json run_tune(const TuneRequest& req) {
  LETHE_CHECK(!req.forget.empty(), "--forget: a forget SPEC is required");
  LETHE_CHECK(!req.reference.empty(), "--reference: the evaluated retrain run is required");
  make_method(req.method);  // an unknown name fails here, before any work
  LETHE_CHECK(req.gap == "amun" || req.gap == "svc", "--gap: unknown '", req.gap,
              "' (use amun or svc)");
  LETHE_CHECK(req.gap != "amun" || !req.references.empty() || !req.mia.empty(),
              "--gap amun scores by FT AUC (RMIA): give --references DIR (lethe train "
              "--reference-models M), or use --gap svc");
  {
    // The reference must have every column of the gap, or no candidate could be scored.
    eval::CompareOptions co;
    co.gap = req.gap;
    eval::CompareRow ref = eval::compare_runs({req.reference}, req.reference, co).at(0);
    LETHE_CHECK(ref.avg_gap >= 0, "--reference ", req.reference, ": ", ref.gap_missing);
  }
  std::vector<TuneCandidate> cands = tune_candidates(req);
  for (const TuneCandidate& c : cands) candidate_options(req, c);  // bad values fail early
  if (req.threads > 0) omp_set_num_threads(req.threads);

  // Several ranks (mpirun): candidate i is rank i mod N's unit, unlearned and evaluated alone on
  // that rank (UnitScope), so its directories are what one rank writes; rank 0 then reads every
  // candidate back and writes the tables and the winner. --out must be seen by every rank.
  const dist::Communicator& world = dist::current();
  const std::string ident_path = req.out + "/tune-request.json";
  nlohmann::json ident = request_identity(req);
  if (world.is_root()) {
    fs::create_directories(candidates_dir(req));
    if (fs::exists(ident_path) && !req.overwrite) {
      nlohmann::json before = io::read_json(ident_path);
      LETHE_CHECK(before == ident, "--out '", req.out, "' holds another search (", ident_path,
                  " differs); choose another directory or pass --overwrite");
    }
    if (req.overwrite && fs::exists(ident_path) && io::read_json(ident_path) != ident)
      fs::remove_all(candidates_dir(req)), fs::create_directories(candidates_dir(req));
    io::write_json_atomic(ident_path, ident);
  }
  world.barrier();  // the directory is ready (or rank 0 failed and ended the job)
  if (world.size() > 1) {
    for (size_t i = static_cast<size_t>(world.rank()); i < cands.size(); i += world.size()) {
      dist::UnitScope unit;
      const bool reuse = candidate_complete(req, cands[i]);
      const auto c0 = std::chrono::steady_clock::now();
      CandidateResult r = run_tune_candidate(req, cands[i]);
      std::fprintf(
          stderr, "tune: %s[%zu/%zu] %s gap %.3f (%s)\n", dist::rank_prefix().c_str(), i + 1,
          cands.size(), cands[i].name.c_str(), r.row.avg_gap,
          reuse ? "complete, read back"
                : (std::to_string(
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count())
                       .substr(0, 6) +
                   " s")
                      .c_str());
    }
    world.barrier();  // every candidate is on disk
    if (!world.is_root()) return {{"rank", world.rank()}, {"ranks", world.size()}};
  }

  int64_t reusable = 0;
  for (const TuneCandidate& c : cands) reusable += candidate_complete(req, c);
  std::fprintf(stderr, "tune: %s, %zu candidates (%lld complete from an earlier run)\n",
               req.method.c_str(), cands.size(), static_cast<long long>(reusable));

  std::vector<CandidateResult> done;
  const CandidateResult* best = nullptr;
  std::string last_md;
  auto write_tables = [&](bool final_write) {
    nlohmann::json rows = nlohmann::json::array();
    const bool svc = req.gap == "svc";
    std::string md = "| candidate | forget | retain | test | " +
                     std::string(svc ? "SVC MIA" : "FT AUC") +
                     " | unlearn s | avg gap |\n|---|---|---|---|---|---|---|\n";
    std::string tsv = "candidate";
    for (const TuneAxis& a : req.grid) tsv += '\t', tsv += a.key;
    tsv += "\tforget_acc\tretain_acc\ttest_acc\tsvc_mia\tft_auc\tunlearn_s\tavg_gap\n";
    for (const CandidateResult& r : done) {
      rows.push_back(row_json(r));
      const eval::CompareRow& w = r.row;
      const bool win = final_write && &r == best;
      md += "| " + std::string(win ? "**" : "") + r.candidate.name + (win ? "**" : "") + " | " +
            num(w.forget) + " | " + num(w.retain) + " | " + num(w.test) + " | " +
            num(svc ? w.mia : w.ft_auc) + " | " + num(w.seconds) + " | " + num(w.avg_gap, 3) +
            " |\n";
      tsv += r.candidate.name;
      for (const auto& [k, v] : r.candidate.settings) tsv += '\t', tsv += v;
      for (double v : {w.forget, w.retain, w.test, w.mia, w.ft_auc, w.seconds, w.avg_gap}) {
        tsv += '\t';
        if (v >= 0) tsv += std::to_string(v);
      }
      tsv += "\n";
    }
    md += "\navg gap: lethe compare --gap " + req.gap + " to " + req.reference + ".";
    if (final_write && best) md += " Winner (bold): " + best->candidate.name + ".";
    md += "\n";
    nlohmann::json grid = nlohmann::json::object();
    for (const TuneAxis& a : req.grid) grid[a.key] = a.values;
    nlohmann::json j = {{"request", ident},
                        {"grid", grid},
                        {"budget", req.budget},
                        {"search_seed", req.search_seed},
                        {"candidates_total", cands.size()},
                        {"candidates_done", done.size()},
                        {"rows", rows}};
    if (final_write && best) j["winner"] = row_json(*best);
    last_md = md;
    io::write_text_atomic(req.out + "/tune.md", md);
    io::write_text_atomic(req.out + "/tune.tsv", tsv);
    io::write_json_atomic(req.out + "/tune.json", j);
    return j;
  };

  // Progress: one line per candidate with the rate and ETA of the candidates that run (those
  // read back take no time). Not profile::Progress: its rate per second shows 0 for candidates
  // that take minutes.
  const auto to_run = static_cast<int64_t>(cands.size()) - reusable;
  int64_t ran = 0;
  const auto t0 = std::chrono::steady_clock::now();
  done.reserve(cands.size());
  for (const TuneCandidate& c : cands) {
    const bool reuse = candidate_complete(req, c);
    const auto c0 = std::chrono::steady_clock::now();
    done.push_back(run_tune_candidate(req, c));
    write_tables(false);
    const auto now = std::chrono::steady_clock::now();
    const double took = std::chrono::duration<double>(now - c0).count();
    ran += !reuse;
    const double per = ran > 0 ? std::chrono::duration<double>(now - t0).count() / ran : 0;
    std::fprintf(stderr, "tune: [%zu/%zu] %s gap %.3f (%s); %.1f s per candidate run, ETA %.0f s\n",
                 done.size(), cands.size(), c.name.c_str(), done.back().row.avg_gap,
                 reuse ? "complete, read back" : (std::to_string(took).substr(0, 6) + " s").c_str(),
                 per, per * static_cast<double>(to_run - ran));
  }
  for (const CandidateResult& r : done)
    if (!best || r.row.avg_gap < best->row.avg_gap) best = &r;
  std::fprintf(stderr, "tune: winner %s (gap %.3f)\n", best->candidate.name.c_str(),
               best->row.avg_gap);

  // The winner's directories, copied whole (temp, then rename over the previous winner).
  for (const auto& [src, dst] : {std::pair{best->dir, req.out + "/winner"},
                                 std::pair{best->eval_dir, req.out + "/winner-eval"}}) {
    const std::string tmp = dst + ".tmp";
    fs::remove_all(tmp);
    fs::copy(src, tmp, fs::copy_options::recursive);
    fs::remove_all(dst);
    fs::rename(tmp, dst);
  }
  nlohmann::json j = write_tables(true);
  io::write_text_atomic(req.out + "/winner.args", as_arguments(best->candidate) + "\n");
  std::printf("%s", last_md.c_str());
  return j;
}

}  // namespace lethe::unlearn
