// Tabular CSV loader: header row, a label column, an optional protected-attribute column;
// categorical columns one-hot encoded, numeric columns standardized with train statistics.
#pragma once
#include <string>

#include "data/dataset.h"

namespace lethe::data {

struct TabularOptions {
  std::string label;          // label column; "" = "label" if present, else the last column
  std::string protected_col;  // optional protected-attribute column (kept as a feature too);
                              // "COL<T" makes two groups of a numeric column: >= T (0), < T (1)
  double test_fraction = 0.2;
};

// Rows are split 80/20 (stratified by label, deterministic by seed). Classes are the label
// column's distinct values in sorted order (numeric order when all are numbers); protected
// group codes likewise. A column is numeric when every non-empty cell parses as a number;
// empty numeric cells get the train mean (0 after standardization). Other columns become one
// 0/1 feature per distinct value, named "column=value".
// The most distinct values a protected column may have (more is an error, not a grouping).
inline constexpr size_t kMaxProtectedGroups = 20;

DataSplit load_tabular_csv(const std::string& path, uint64_t seed, const TabularOptions& opt = {});

}  // namespace lethe::data
