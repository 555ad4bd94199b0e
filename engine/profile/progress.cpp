#include "engine/profile/progress.h"

#include <unistd.h>

#include <cstdio>

#include "engine/dist/communicator.h"

namespace lethe::profile {

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() {
  if (!finished_) finish(status_);
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(int64_t n, const std::string& status) {
  done_ += n;
  if (!status.empty()) status_ = status;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_).count();
  // Terminal: redraw a few times a second; logs: a line every 10 s.
  if (since >= (tty_ ? 0.25 : 10.0)) {
    last_ = now;
    draw(false);
  }
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  finished_ = true;
  if (!status.empty()) status_ = status;
  draw(true);
}

void Progress::draw(bool final) {
  if (!dist::Communicator::world().is_root()) return;  // one progress display per job
  double t = elapsed_s();
  double rate = t > 0 ? done_ / t : 0;
  double eta = rate > 0 && total_ > done_ ? (total_ - done_) / rate : 0;
  int pct = total_ > 0 ? static_cast<int>(100.0 * done_ / total_) : 100;
  char line[512];
  if (tty_) {
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; ++i) bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    std::snprintf(line, sizeof line, "\r%s [%s] %3d%% %.0f %s/s ETA %.0fs %s\033[K", label_.c_str(),
                  bar, pct, rate, unit_.c_str(), eta, status_.c_str());
    std::fputs(line, stderr);
    if (final) std::fputc('\n', stderr);
  } else {
    std::snprintf(line, sizeof line, "%s %3d%% (%lld/%lld) %.0f %s/s ETA %.0fs elapsed %.1fs %s\n",
                  label_.c_str(), pct, static_cast<long long>(done_),
                  static_cast<long long>(total_), rate, unit_.c_str(), eta, t, status_.c_str());
    std::fputs(line, stderr);
  }
  std::fflush(stderr);
}

}  // namespace lethe::profile
