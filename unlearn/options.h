// Method options given on the command line (`--opt KEY=VALUE`, repeatable) of lethe unlearn and
// lethe profile, and the shortened defaults lethe profile runs a method with.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lethe::unlearn {

// {"KEY": VALUE, ...} for UnlearnOptions::extra: a VALUE that parses as a number is stored as a
// number, anything else as a string; a later KEY replaces an earlier one. Throws a lethe::Error
// naming --opt for an entry without "KEY=".
nlohmann::json parse_method_options(const std::vector<std::string>& key_values);

// Options that keep a method's run short for profiling where `options` does not set them: AMUN's
// adversarial search (amun, amun-salun) runs 10 steps per ε level and at most 3 doublings
// instead of 50 and 12 (minutes per stubborn sample on a ResNet-50): each step costs what it
// costs, only fewer of them run.
void add_short_run_defaults(const std::string& method, nlohmann::json& options);

}  // namespace lethe::unlearn
