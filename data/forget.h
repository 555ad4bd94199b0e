// Forget SPECs: which training samples an unlearning run removes, and index files that record them.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"

namespace lethe::data {

struct ForgetSplit {
  std::vector<int64_t> forget, retain;  // sorted, disjoint, together 0..N-1
};

// Specs (deterministic for a seed):
//   random:F   fraction F in (0,1] of the training set (written with a '.', e.g. 0.1 or 1.0)
//   random:K   K samples (an integer)
//   class:C    every sample of class C (an index, or a class name)
//   class:C:F  a fraction F (or class:C:K a count K) of class C
//   group:G    every sample of protected group G (a code, or a name such as "yes" or "Age<25")
//   group:G:F  a fraction F (or group:G:K a count K) of group G
//   file:PATH  the training indices listed in PATH, one per line
ForgetSplit make_forget_split(const std::string& spec, const Dataset& train, uint64_t seed);

// The split given an explicit forget list (checked for range and duplicates).
ForgetSplit split_from_forget(std::vector<int64_t> forget, int64_t n, const std::string& what);

// Indices from a file, one per line (blank lines ignored); every index in [0, n), no
// duplicates. Errors name the file and line.
std::vector<int64_t> read_index_file(const std::string& path, int64_t n);
// One index per line, written to a temporary file and renamed over `path`, so a reader never
// sees a partial file and a failed write leaves any earlier file intact.
void write_index_file(const std::string& path, const std::vector<int64_t>& indices);

}  // namespace lethe::data
