#include "engine/io/json_checked.h"

#include <limits>

#include "engine/core/error.h"

namespace lethe::io {

int64_t json_int(const nlohmann::json& j, const std::string& what) {
  LETHE_CHECK(j.is_number_integer() &&
                  (!j.is_number_unsigned() ||
                   j.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())),
              what, ": expected an integer, got ", j.dump().substr(0, 40));
  return j.get<int64_t>();
}

std::vector<int64_t> json_ints(const nlohmann::json& j, const std::string& what) {
  LETHE_CHECK(j.is_array(), what, ": expected a list of integers, got ", j.dump().substr(0, 40));
  std::vector<int64_t> out;
  out.reserve(j.size());
  for (const auto& e : j) out.push_back(json_int(e, what));
  return out;
}

}  // namespace lethe::io
