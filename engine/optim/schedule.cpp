// Closed-form learning-rate schedules and the parser for their command-line spelling.
#include "engine/optim/schedule.h"

#include "engine/core/parse.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

#include "engine/core/error.h"

namespace lethe::optim {

LrSchedule LrSchedule::constant(double base_lr) {
  return LrSchedule(Kind::Constant, base_lr);
}

LrSchedule LrSchedule::step(double base_lr, int64_t step_size, double gamma) {
  LETHE_CHECK(step_size > 0, "schedule: step size must be positive, got ", step_size);
  LrSchedule s(Kind::Step, base_lr);
  s.step_size_ = step_size;
  s.gamma_ = gamma;
  return s;
}

LrSchedule LrSchedule::multistep(double base_lr, std::vector<int64_t> milestones, double gamma) {
  // Sorted, duplicates kept: PyTorch counts a repeated milestone twice.
  std::sort(milestones.begin(), milestones.end());
  LrSchedule s(Kind::MultiStep, base_lr);
  s.milestones_ = std::move(milestones);
  s.gamma_ = gamma;
  return s;
}

LrSchedule LrSchedule::cosine(double base_lr, int64_t t_max, double eta_min) {
  LETHE_CHECK(t_max > 0, "schedule: cosine T_max must be positive, got ", t_max);
  LrSchedule s(Kind::Cosine, base_lr);
  s.t_max_ = t_max;
  s.eta_min_ = eta_min;
  return s;
}

LrSchedule LrSchedule::with_warmup(int64_t warmup, double start_factor) const {
  LETHE_CHECK(warmup >= 0, "schedule: warmup must be >= 0, got ", warmup);
  LETHE_CHECK(start_factor > 0 && start_factor <= 1,
              "schedule: warmup start factor must be in (0, 1], got ", start_factor);
  LrSchedule s = *this;
  s.warmup_ = warmup;
  s.start_factor_ = start_factor;
  return s;
}

double LrSchedule::inner_at(int64_t e) const {
  switch (kind_) {
    case Kind::Constant:
      return base_;
    case Kind::Step:
      return base_ * std::pow(gamma_, static_cast<double>(e / step_size_));
    case Kind::MultiStep: {
      auto k = std::upper_bound(milestones_.begin(), milestones_.end(), e) - milestones_.begin();
      return base_ * std::pow(gamma_, static_cast<double>(k));
    }
    case Kind::Cosine:
      return eta_min_ + (base_ - eta_min_) *
                            (1.0 + std::cos(std::numbers::pi * static_cast<double>(e) /
                                            static_cast<double>(t_max_))) /
                            2.0;
  }
  return base_;
}

double LrSchedule::lr_at(int64_t epoch) const {
  LETHE_CHECK(epoch >= 0, "schedule: epoch must be >= 0, got ", epoch);
  if (epoch < warmup_) {
    double f = start_factor_ +
               (1.0 - start_factor_) * static_cast<double>(epoch) / static_cast<double>(warmup_);
    return base_ * f;
  }
  return inner_at(epoch - warmup_);
}

std::string LrSchedule::describe() const {
  std::ostringstream os;
  switch (kind_) {
    case Kind::Constant:
      os << "constant(base=" << base_ << ")";
      break;
    case Kind::Step:
      os << "step(base=" << base_ << ", step_size=" << step_size_ << ", gamma=" << gamma_ << ")";
      break;
    case Kind::MultiStep:
      os << "multistep(base=" << base_ << ", milestones=";
      for (size_t i = 0; i < milestones_.size(); ++i) os << (i ? "," : "") << milestones_[i];
      os << ", gamma=" << gamma_ << ")";
      break;
    case Kind::Cosine:
      os << "cosine(base=" << base_ << ", t_max=" << t_max_ << ", eta_min=" << eta_min_ << ")";
      break;
  }
  if (warmup_ > 0) os << " after warmup " << warmup_ << " (start factor " << start_factor_ << ")";
  return os.str();
}

namespace {
std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream is(s);
  while (std::getline(is, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

double number(const std::string& s, const std::string& spec) {
  double v = 0;
  LETHE_CHECK(parse_double(s, v), "--schedule '", spec, "': '", s, "' is not a number");
  return v;
}

int64_t integer(const std::string& s, const std::string& spec) {
  int64_t v = 0;
  LETHE_CHECK(parse_int64(s, v), "--schedule '", spec, "': '", s, "' is not an integer");
  return v;
}
}  // namespace

LrSchedule LrSchedule::parse(const std::string& spec, double base_lr, int64_t total,
                             int64_t warmup) {
  std::vector<std::string> f = split(spec, ':');
  LETHE_CHECK(!f.empty(), "--schedule: empty schedule");
  const std::string& kind = f[0];
  LrSchedule s = constant(base_lr);
  if (kind == "constant" && f.size() == 1) {
    s = constant(base_lr);
  } else if (kind == "cosine" && f.size() <= 2) {
    LETHE_CHECK(total - warmup > 0, "--schedule '", spec, "': ", total,
                " epochs leave nothing after ", warmup, " warmup epochs");
    s = cosine(base_lr, total - warmup, f.size() == 2 ? number(f[1], spec) : 0.0);
  } else if (kind == "step" && f.size() == 3) {
    int64_t e = integer(f[1], spec);
    LETHE_CHECK(e > 0, "--schedule '", spec, "': step size must be positive");
    s = step(base_lr, e, number(f[2], spec));
  } else if (kind == "multistep" && (f.size() == 2 || f.size() == 3)) {
    std::vector<int64_t> ms;
    for (const std::string& m : split(f[1], ',')) ms.push_back(integer(m, spec));
    LETHE_CHECK(!ms.empty(), "--schedule '", spec, "': no milestones");
    s = multistep(base_lr, ms, f.size() == 3 ? number(f[2], spec) : 0.1);
  } else {
    LETHE_FAIL("--schedule '", spec,
               "': expected constant, cosine[:ETA_MIN], step:E:G or multistep:A,B[:G]");
  }
  return warmup > 0 ? s.with_warmup(warmup) : s;
}

}  // namespace lethe::optim
