// Forget specs and index files.
#include "data/forget.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <unordered_map>

#include "data/csv.h"
#include "data/random.h"

namespace lethe::data {

namespace {

// How many of `pool` samples an amount asks for: "0.25" is a fraction, "500" a count.
int64_t amount(const std::string& spec, const std::string& s, int64_t pool) {
  const bool fraction = s.find_first_of(".eE") != std::string::npos;
  if (fraction) {
    double f = 0;
    LETHE_CHECK(parse_double(s, f) && f > 0 && f <= 1, "--forget ", spec, ": fraction '", s,
                "' must be a number in (0, 1]");
    const auto k = static_cast<int64_t>(std::llround(f * static_cast<double>(pool)));
    LETHE_CHECK(k > 0, "--forget ", spec, ": fraction ", s, " of ", pool, " samples selects none");
    return k;
  }
  int64_t k = 0;
  LETHE_CHECK(parse_int64(s, k), "--forget ", spec, ": '", s,
              "' is neither a fraction (0.1) nor a count (500)");
  LETHE_CHECK(k > 0 && k <= pool, "--forget ", spec, ": count ", k, " must be in [1, ", pool, "]");
  return k;
}

// k members of `pool` chosen by a seeded permutation.
std::vector<int64_t> choose(std::vector<int64_t> pool, int64_t k, uint64_t key) {
  shuffle_with_key(pool, key);
  pool.resize(static_cast<size_t>(k));
  return pool;
}

int64_t class_of(const std::string& spec, const std::string& s, const Dataset& d) {
  int64_t c = 0;
  if (!parse_int64(s, c)) {
    auto it = std::find(d.class_names.begin(), d.class_names.end(), s);
    LETHE_CHECK(it != d.class_names.end(), "--forget ", spec, ": '", s,
                "' is not a class index or name");
    c = it - d.class_names.begin();
  }
  LETHE_CHECK(c >= 0 && c < d.num_classes, "--forget ", spec, ": class ", c, " out of range [0, ",
              d.num_classes, ")");
  return c;
}

}  // namespace

ForgetSplit split_from_forget(std::vector<int64_t> forget, int64_t n, const std::string& what) {
  std::sort(forget.begin(), forget.end());
  for (size_t i = 0; i < forget.size(); ++i) {
    LETHE_CHECK(forget[i] >= 0 && forget[i] < n, what, ": index ", forget[i], " out of range [0, ",
                n, ")");
    LETHE_CHECK(i == 0 || forget[i] != forget[i - 1], what, ": index ", forget[i], " listed twice");
  }
  ForgetSplit s;
  s.retain.reserve(static_cast<size_t>(n) - forget.size());
  size_t j = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (j < forget.size() && forget[j] == i) {
      ++j;
    } else {
      s.retain.push_back(i);
    }
  }
  s.forget = std::move(forget);
  return s;
}

ForgetSplit make_forget_split(const std::string& spec, const Dataset& train, uint64_t seed) {
  const int64_t n = train.size();
  LETHE_CHECK(n > 0, "--forget ", spec, ": the training set is empty");
  const size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon);
  const std::string rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  const char* forms =
      "random:FRACTION, random:COUNT, class:C, class:C:FRACTION|COUNT, group:G, "
      "group:G:FRACTION|COUNT, file:PATH";
  if (kind == "random") {
    LETHE_CHECK(!rest.empty(), "--forget ", spec, ": missing amount (random:0.1 or random:500)");
    std::vector<int64_t> all(static_cast<size_t>(n));
    std::iota(all.begin(), all.end(), int64_t{0});
    const int64_t k = amount(spec, rest, n);
    return split_from_forget(choose(std::move(all), k, stream_key(seed, kForget)), n, spec);
  }
  if (kind == "class") {
    LETHE_CHECK(!rest.empty(), "--forget ", spec, ": missing class (class:3)");
    const size_t c2 = rest.rfind(':');
    // class:C or class:C:AMOUNT; a class name may not contain ':'.
    const std::string cls = c2 == std::string::npos ? rest : rest.substr(0, c2);
    const int64_t c = class_of(spec, cls, train);
    std::vector<int64_t> members;
    const int64_t* y = train.labels.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      if (y[i] == c) members.push_back(i);
    }
    LETHE_CHECK(!members.empty(), "--forget ", spec, ": class ", c, " has no training samples");
    if (c2 == std::string::npos) return split_from_forget(std::move(members), n, spec);
    const auto pool = static_cast<int64_t>(members.size());
    const int64_t k = amount(spec, rest.substr(c2 + 1), pool);
    return split_from_forget(
        choose(std::move(members), k, stream_key(seed, kForget, static_cast<uint64_t>(c) + 1)), n,
        spec);
  }
  if (kind == "group") {
    // group:G or group:G:AMOUNT — rows of one protected group (the removal Oesterling et al. say
    // breaks fairness). G is a group code or its name; AMOUNT as for class (of the group's rows).
    LETHE_CHECK(train.has_protected(), "--forget ", spec,
                ": the data has no protected attribute (csv:FILE:protected=COL)");
    LETHE_CHECK(!rest.empty(), "--forget ", spec, ": missing group (group:1 or group:NAME)");
    const size_t c2 = rest.rfind(':');
    const std::string name = c2 == std::string::npos ? rest : rest.substr(0, c2);
    const auto ng = static_cast<int64_t>(train.protected_names.size());
    int64_t g = 0;
    if (!parse_int64(name, g)) {
      auto it = std::find(train.protected_names.begin(), train.protected_names.end(), name);
      std::string names;
      for (const auto& s2 : train.protected_names) names += (names.empty() ? "" : ", ") + s2;
      LETHE_CHECK(it != train.protected_names.end(), "--forget ", spec, ": '", name,
                  "' is not a group code or name (groups: ", names, ")");
      g = it - train.protected_names.begin();
    }
    LETHE_CHECK(g >= 0 && g < ng, "--forget ", spec, ": group ", g, " out of range [0, ", ng, ")");
    std::vector<int64_t> members;
    const int64_t* a = train.protected_attr.data<int64_t>();
    for (int64_t i = 0; i < n; ++i)
      if (a[i] == g) members.push_back(i);
    LETHE_CHECK(!members.empty(), "--forget ", spec, ": group ", g, " has no training samples");
    if (c2 == std::string::npos) return split_from_forget(std::move(members), n, spec);
    const auto pool = static_cast<int64_t>(members.size());
    const int64_t k = amount(spec, rest.substr(c2 + 1), pool);
    return split_from_forget(
        choose(std::move(members), k,
               stream_key(seed, kForget, (uint64_t{1} << 32) + static_cast<uint64_t>(g))),
        n, spec);
  }
  if (kind == "file") {
    LETHE_CHECK(!rest.empty(), "--forget ", spec, ": missing PATH");
    std::vector<int64_t> idx = read_index_file(rest, n);
    LETHE_CHECK(!idx.empty(), rest, ": no indices");
    return split_from_forget(std::move(idx), n, rest);
  }
  LETHE_FAIL("--forget ", spec, ": unknown forget spec; valid forms: ", forms);
}

std::vector<int64_t> read_index_file(const std::string& path, int64_t n) {
  std::ifstream in(path);
  LETHE_CHECK(in, path, ": cannot open (", std::strerror(errno), ")");
  std::vector<int64_t> out;
  std::unordered_map<int64_t, int64_t> line_of;
  std::string line;
  int64_t ln = 0;
  while (std::getline(in, line)) {
    ++ln;
    const std::string t = trim(line);
    if (t.empty()) continue;
    int64_t v = 0;
    LETHE_CHECK(parse_int64(t, v), path, ":", ln, ": '", t, "' is not an index");
    LETHE_CHECK(v >= 0 && v < n, path, ":", ln, ": index ", v, " out of range [0, ", n, ")");
    auto [it, fresh] = line_of.emplace(v, ln);
    LETHE_CHECK(fresh, path, ":", ln, ": index ", v, " already listed on line ", it->second);
    out.push_back(v);
  }
  LETHE_CHECK(!in.bad(), path, ": read error");
  return out;
}

void write_index_file(const std::string& path, const std::vector<int64_t>& indices) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    LETHE_CHECK(out, tmp, ": cannot create (", std::strerror(errno), ")");
    for (int64_t i : indices) out << i << '\n';
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      LETHE_FAIL(tmp, ": write failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    LETHE_FAIL(path, ": cannot replace (", ec.message(), ")");
  }
}

}  // namespace lethe::data
