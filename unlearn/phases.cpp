#include "unlearn/phases.h"

namespace lethe::unlearn {

PhaseTimer::Scope::Scope(PhaseTimer& t, std::string phase)
    : t_(t), phase_(std::move(phase)), start_(std::chrono::steady_clock::now()) {}

PhaseTimer::Scope::~Scope() {
  t_.add(phase_, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
}

double PhaseTimer::total() const {
  double s = 0;
  for (auto& [k, v] : seconds_) s += v;
  return s;
}

nlohmann::json PhaseTimer::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (auto& [k, v] : seconds_) j[k] = v;
  return j;
}

}  // namespace lethe::unlearn
