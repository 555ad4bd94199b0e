// Learning-rate schedules as pure functions of the epoch (or step) index, with PyTorch's closed
// forms: constant, StepLR, MultiStepLR, CosineAnnealingLR, optionally behind a linear warmup.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lethe::optim {

class LrSchedule {
 public:
  enum class Kind { Constant, Step, MultiStep, Cosine };

  // lr(e) = base.
  static LrSchedule constant(double base_lr);
  // StepLR: base · gamma^floor(e / step_size).
  static LrSchedule step(double base_lr, int64_t step_size, double gamma = 0.1);
  // MultiStepLR: base · gamma^(number of milestones <= e).
  static LrSchedule multistep(double base_lr, std::vector<int64_t> milestones, double gamma = 0.1);
  // CosineAnnealingLR: eta_min + (base − eta_min) · (1 + cos(π e / t_max)) / 2.
  static LrSchedule cosine(double base_lr, int64_t t_max, double eta_min = 0);

  // Linear warmup over the first `warmup` indices, then this schedule restarted at index 0:
  // PyTorch's SequentialLR([LinearLR(start_factor, total_iters=warmup), this], [warmup]), i.e.
  // lr(e) = base · (start_factor + (1 − start_factor) · e / warmup) for e < warmup, and
  // this.lr_at(e − warmup) after. start_factor defaults to LinearLR's 1/3.
  LrSchedule with_warmup(int64_t warmup, double start_factor = 1.0 / 3.0) const;

  double lr_at(int64_t epoch) const;
  double base_lr() const { return base_; }
  Kind kind() const { return kind_; }
  int64_t warmup() const { return warmup_; }
  // One line, e.g. "cosine(base=0.1, t_max=200, eta_min=0) after warmup 5".
  std::string describe() const;

  // The command-line forms: "constant", "cosine" or "cosine:ETA_MIN" (t_max = total − warmup),
  // "step:E:G", "multistep:A,B,..." or "multistep:A,B,...:G" (gamma 0.1 by default). Throws a
  // lethe::Error naming the spec when it does not parse.
  static LrSchedule parse(const std::string& spec, double base_lr, int64_t total,
                          int64_t warmup = 0);

 private:
  LrSchedule(Kind k, double base) : kind_(k), base_(base) {}
  double inner_at(int64_t e) const;

  Kind kind_;
  double base_;
  double gamma_ = 0.1;
  int64_t step_size_ = 1;
  std::vector<int64_t> milestones_;  // sorted
  int64_t t_max_ = 1;
  double eta_min_ = 0;
  int64_t warmup_ = 0;
  double start_factor_ = 1.0 / 3.0;
};

}  // namespace lethe::optim
