// Strict number parsing for options, specs and data files: the whole string (surrounding spaces
// allowed) must be the number; non-finite values are rejected.
#pragma once
#include <cstdint>
#include <string>

namespace lethe {

std::string trim(const std::string& s);
bool parse_double(const std::string& s, double& out);
bool parse_int64(const std::string& s, int64_t& out);

}  // namespace lethe
