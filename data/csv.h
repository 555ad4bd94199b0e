// A small CSV reader (RFC 4180 quoting) shared by the tabular and image-list loaders.
#pragma once
#include <string>
#include <vector>

#include "engine/core/parse.h"

namespace lethe::data {

struct CsvTable {
  std::vector<std::vector<std::string>> rows;  // every row as read, header included
  std::vector<int64_t> line_of_row;            // 1-based file line where each row starts
};

// Reads all rows; blank lines are skipped, fields keep no surrounding quotes. Throws naming
// the file and line on an unterminated quote. Row widths are not checked here.
CsvTable read_csv(const std::string& path);

// The strict number parsing the loaders use (engine/core/parse.h).
using lethe::parse_double;
using lethe::parse_int64;
using lethe::trim;

}  // namespace lethe::data
