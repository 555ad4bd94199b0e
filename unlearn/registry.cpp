#include "unlearn/registry.h"

#include <functional>
#include <utility>

namespace lethe::unlearn {
namespace {

using Factory = std::unique_ptr<Method> (*)();
const std::vector<std::pair<std::string, Factory>>& table() {
  static const std::vector<std::pair<std::string, Factory>> t = {
      {"retrain", make_retrain},
      {"ft", make_fine_tune},
      {"rl", make_random_labels},
      {"ga", make_gradient_ascent},
      {"l1", make_l1_sparse},
      {"bs", make_boundary_shrink},
      {"be", make_boundary_expanding},
      {"sisa", make_sisa},
      {"amnesiac", make_amnesiac},
      {"salun", make_salun},
      {"amun", make_amun},
      {"amun-salun", make_amun_salun},
      {"newton", make_newton},
      {"fair-newton", make_fair_newton},
      {"scrub", make_scrub},
  };
  return t;
}

}  // namespace

std::unique_ptr<Method> make_method(const std::string& name) {
  for (auto& [n, f] : table())
    if (n == name) return f();
  std::string names;
  for (auto& [n, f] : table()) names += (names.empty() ? "" : ", ") + n;
  LETHE_FAIL("--method: unknown method '", name, "' (available: ", names, ")");
}

std::vector<std::string> method_names() {
  std::vector<std::string> out;
  for (auto& [n, f] : table()) out.push_back(n);
  return out;
}

}  // namespace lethe::unlearn
