// Progress on stderr for long work: a bar redrawn in place when stderr is a terminal, otherwise
// one line per interval; both show rate and ETA. Results never go here (stdout and files). In a
// job of several ranks (engine/dist) only rank 0 draws.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace lethe::profile {

class Progress {
 public:
  // total: units of work (e.g. samples); unit: what they are called ("img").
  Progress(std::string label, int64_t total, std::string unit = "img");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // Adds n done units; `status` (e.g. "loss 0.42") is shown beside the rate.
  void advance(int64_t n, const std::string& status = "");
  // Prints the final line (called by the destructor if not called).
  void finish(const std::string& status = "");
  double elapsed_s() const;

 private:
  void draw(bool final);
  std::string label_, unit_, status_;
  int64_t total_, done_ = 0;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace lethe::profile
