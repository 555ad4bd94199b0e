// Wall time per phase of an unlearning run (adversarial search, mask, fine-tune, ...), reported in
// metrics.json so the cost of each part of a method is visible.
#pragma once
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace lethe::unlearn {

class PhaseTimer {
 public:
  // Time from construction to destruction is added to `phase`.
  class Scope {
   public:
    Scope(PhaseTimer& t, std::string phase);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    PhaseTimer& t_;
    std::string phase_;
    std::chrono::steady_clock::time_point start_;
  };
  Scope scope(const std::string& phase) { return Scope(*this, phase); }
  void add(const std::string& phase, double seconds) { seconds_[phase] += seconds; }
  double total() const;
  nlohmann::json to_json() const;

 private:
  std::map<std::string, double> seconds_;
};

}  // namespace lethe::unlearn
