#include "unlearn/options.h"

#include <utility>

#include "engine/core/error.h"
#include "engine/core/parse.h"

namespace lethe::unlearn {

nlohmann::json parse_method_options(const std::vector<std::string>& key_values) {
  nlohmann::json extra = nlohmann::json::object();
  for (const std::string& kv : key_values) {
    size_t eq = kv.find('=');
    LETHE_CHECK(eq != std::string::npos && eq > 0, "--opt ", kv, ": expected KEY=VALUE");
    std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    double d = 0;
    if (parse_double(v, d))
      extra[k] = d;
    else
      extra[k] = v;
  }
  return extra;
}

void add_short_run_defaults(const std::string& method, nlohmann::json& options) {
  // method, option, value: the table of shortened defaults.
  static const std::vector<std::pair<std::string, std::pair<std::string, double>>> table = {
      {"amun", {"steps", 10.0}},
      {"amun", {"doublings", 3.0}},
      {"amun-salun", {"steps", 10.0}},
      {"amun-salun", {"doublings", 3.0}},
  };
  for (const auto& [m, kv] : table)
    if (m == method && !options.contains(kv.first)) options[kv.first] = kv.second;
}

}  // namespace lethe::unlearn
