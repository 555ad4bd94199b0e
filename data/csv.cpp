// CSV reader.
#include "data/csv.h"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "engine/core/error.h"

namespace lethe::data {

CsvTable read_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  LETHE_CHECK(in, path, ": cannot open (", std::strerror(errno), ")");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  CsvTable t;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  int64_t line = 1, row_line = 1, quote_line = 0;
  auto end_row = [&] {
    row.push_back(field);
    field.clear();
    // A row of one empty field is a blank line.
    if (!(row.size() == 1 && row[0].empty() && !any)) {
      t.rows.push_back(std::move(row));
      t.line_of_row.push_back(row_line);
    }
    row.clear();
    any = false;
    row_line = line;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
      any = true;
      quote_line = line;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
      any = true;
    } else if (c == '\n') {
      ++line;
      end_row();
    } else if (c != '\r') {
      field += c;
      any = true;
    }
  }
  LETHE_CHECK(!quoted, path, ":", quote_line, ": unterminated quoted field");
  if (any || !field.empty() || !row.empty()) end_row();
  return t;
}

}  // namespace lethe::data
