// The `lethe tune` job: a grid or budgeted random search over one method's hyperparameters, the
// step the SalUn/AMUN authors leave to the user. Every candidate is unlearned (lethe unlearn),
// evaluated (lethe eval on its forget.txt) and scored by lethe compare's average gap to a
// reference run (an evaluated retrain); the winner is the candidate with the smallest gap (the
// first in candidate order on a tie). Writes under OUT:
//   candidates/<name>/, candidates/<name>-eval/   each candidate's run and its evaluation
//   winner/, winner-eval/                          copies of the winner's
//   tune.json, tune.md, tune.tsv                   every candidate's row, rewritten after each one
//   winner.args                                    the winner's settings as lethe unlearn options
// Resumable: a candidate whose run and evaluation directories are complete (metrics.json is
// written last, atomically) is read back, never redone; one whose evaluation is missing is only
// evaluated. A rerun must ask for the same search (tune-request.json) unless --overwrite.
// Candidates are independent units (run_tune_candidate), so they can be spread over workers.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "eval/compare.h"
#include "unlearn/method.h"

namespace lethe::unlearn {

// One axis of the grid: `lr=1e-3,1e-2` → {"lr", {"1e-3", "1e-2"}}. Keys lr, epochs and batch set
// the method's common options; any other key is a method option (as --opt KEY=VALUE).
struct TuneAxis {
  std::string key;
  std::vector<std::string> values;
};

struct TuneCandidate {
  int64_t index = 0;                                          // position in the full grid
  std::vector<std::pair<std::string, std::string>> settings;  // key, value in axis order
  std::string name;                                           // directory name, from the settings
};

struct TuneRequest {
  std::string from, method, forget, reference, out;
  std::vector<TuneAxis> grid;
  int64_t budget = 0;        // 0: every grid point; K > 0: K distinct points drawn with search_seed
  uint64_t search_seed = 0;  // --seed of the random search (not the method's seed)
  std::string gap = "amun";  // lethe compare --gap
  std::string mia;           // lethe eval --mia for every candidate; "" = what the gap needs
  std::string references;    // reference models for RMIA (gap amun)
  UnlearnOptions opt;        // the method's options; a candidate's settings override them
  int threads = 0;
  bool overwrite = false;  // a different earlier search in OUT is replaced instead of refused
};

struct CandidateResult {
  TuneCandidate candidate;
  std::string dir, eval_dir;
  eval::CompareRow row;  // forget/retain/test accuracy, MIA column, time and avg_gap
  bool reused = false;   // read back from a complete earlier run
};

// "KEY=V1,V2,..." per entry; a one-line error names the malformed entry or a repeated key.
std::vector<TuneAxis> parse_grid(const std::vector<std::string>& specs);

// The candidates of a request: the grid's product in axis order (the last axis varies fastest),
// or with a budget K below its size K points drawn without replacement (as scikit-learn's
// ParameterSampler does over lists), kept in grid order.
std::vector<TuneCandidate> tune_candidates(const TuneRequest& req);

// The unlearning options of one candidate: req.opt with its settings applied.
UnlearnOptions candidate_options(const TuneRequest& req, const TuneCandidate& c);

// Whether OUT/candidates/<name> and its evaluation are both complete.
bool candidate_complete(const TuneRequest& req, const TuneCandidate& c);

// Runs (or reads back) one candidate and scores it against req.reference. Independent of every
// other candidate: it reads the original and the reference, writes only its own directories.
CandidateResult run_tune_candidate(const TuneRequest& req, const TuneCandidate& c);

// The whole search; returns tune.json's content.
nlohmann::json run_tune(const TuneRequest& req);

}  // namespace lethe::unlearn
