// Integers read from JSON records other programs or people may have written (run manifests,
// indices): nlohmann's get<int64_t>() converts a float such as 8.9e60 with undefined behaviour,
// so a value must be checked to be an integer first (found by fuzz/fuzz_manifest.cpp).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lethe::io {

// j as an int64, or a lethe::Error naming `what` and the value.
int64_t json_int(const nlohmann::json& j, const std::string& what);
// j as a list of int64s, or a lethe::Error naming `what` and the first bad entry.
std::vector<int64_t> json_ints(const nlohmann::json& j, const std::string& what);

}  // namespace lethe::io
