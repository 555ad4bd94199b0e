// Tabular CSV loader.
#include "data/tabular.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "data/csv.h"

namespace lethe::data {

namespace {

// Distinct values of a column as codes: sorted numerically when all parse as numbers, else
// lexicographically. names[i] is the text behind code i (first spelling seen).
struct Coding {
  std::vector<int64_t> codes;
  std::vector<std::string> names;
};

Coding code_column(const std::vector<std::string>& v) {
  bool numeric = true;
  std::vector<double> num(v.size());
  for (size_t i = 0; i < v.size() && numeric; ++i) numeric = parse_double(v[i], num[i]);
  Coding c;
  c.codes.resize(v.size());
  if (numeric) {
    std::map<double, std::string> seen;
    for (size_t i = 0; i < v.size(); ++i) seen.emplace(num[i], v[i]);
    std::map<double, int64_t> code;
    for (const auto& [x, s] : seen) {
      code[x] = static_cast<int64_t>(c.names.size());
      c.names.push_back(s);
    }
    for (size_t i = 0; i < v.size(); ++i) c.codes[i] = code[num[i]];
  } else {
    std::map<std::string, int64_t> code;
    for (const auto& s : v) code.emplace(s, 0);
    for (auto& [s, k] : code) {
      k = static_cast<int64_t>(c.names.size());
      c.names.push_back(s);
    }
    for (size_t i = 0; i < v.size(); ++i) c.codes[i] = code[v[i]];
  }
  return c;
}

std::string column_list(const std::vector<std::string>& header) {
  std::string s;
  for (size_t i = 0; i < header.size() && i < 12; ++i) s += (i ? ", " : "") + header[i];
  if (header.size() > 12) s += ", ...";
  return s;
}

}  // namespace

DataSplit load_tabular_csv(const std::string& path, uint64_t seed, const TabularOptions& opt) {
  CsvTable t = read_csv(path);
  LETHE_CHECK(t.rows.size() >= 2, path, ": needs a header row and at least one data row");
  std::vector<std::string> header = t.rows[0];
  for (auto& h : header) h = trim(h);
  const size_t ncol = header.size();
  LETHE_CHECK(ncol >= 2, path, ": needs a label column and at least one feature column");
  const size_t nrow = t.rows.size() - 1;
  for (size_t r = 1; r < t.rows.size(); ++r) {
    LETHE_CHECK(t.rows[r].size() == ncol, path, ":", t.line_of_row[r], ": ", t.rows[r].size(),
                " fields, the header has ", ncol);
    for (auto& f : t.rows[r]) f = trim(f);
  }
  auto find_col = [&](const std::string& name, const char* what) {
    auto it = std::find(header.begin(), header.end(), name);
    LETHE_CHECK(it != header.end(), path, ": no ", what, " column '", name,
                "' (columns: ", column_list(header), ")");
    return static_cast<size_t>(it - header.begin());
  };
  size_t label_col = ncol - 1;
  if (!opt.label.empty()) {
    label_col = find_col(opt.label, "label");
  } else if (auto it = std::find(header.begin(), header.end(), "label"); it != header.end()) {
    label_col = static_cast<size_t>(it - header.begin());
  }
  auto column = [&](size_t c) {
    std::vector<std::string> v(nrow);
    for (size_t r = 0; r < nrow; ++r) v[r] = t.rows[r + 1][c];
    return v;
  };

  const std::vector<std::string> label_raw = column(label_col);
  for (size_t r = 0; r < nrow; ++r) {
    LETHE_CHECK(!label_raw[r].empty(), path, ":", t.line_of_row[r + 1], ": empty label");
  }
  Coding labels = code_column(label_raw);
  const auto k = static_cast<int64_t>(labels.names.size());
  LETHE_CHECK(k >= 2, path, ": label column '", header[label_col], "' has a single value");
  Tensor y = Tensor::from_vector_i64({static_cast<int64_t>(nrow)}, labels.codes);

  std::vector<int64_t> tr, te;
  stratified_split(y, k, opt.test_fraction, seed, tr, te);
  std::vector<char> is_train(nrow, 0);
  for (int64_t i : tr) is_train[static_cast<size_t>(i)] = 1;

  // Encode features column by column into a row-major [N, F] buffer built per column.
  std::vector<std::string> names;
  std::vector<std::vector<float>> cols;
  for (size_t c = 0; c < ncol; ++c) {
    if (c == label_col) continue;
    const std::vector<std::string> v = column(c);
    std::vector<double> num(nrow, 0.0);
    bool numeric = false, all_num = true;
    for (size_t r = 0; r < nrow && all_num; ++r) {
      if (v[r].empty()) continue;
      all_num = parse_double(v[r], num[r]);
      numeric = true;
    }
    numeric = numeric && all_num;
    if (numeric) {
      double sum = 0, sq = 0;
      int64_t cnt = 0;
      for (size_t r = 0; r < nrow; ++r) {
        if (!is_train[r] || v[r].empty()) continue;
        sum += num[r];
        ++cnt;
      }
      const double mean = cnt ? sum / cnt : 0.0;
      for (size_t r = 0; r < nrow; ++r) {
        if (is_train[r] && !v[r].empty()) sq += (num[r] - mean) * (num[r] - mean);
      }
      const double sd = cnt ? std::sqrt(sq / cnt) : 0.0;
      // A constant column carries no information; map it to 0 rather than divide by zero.
      const double inv = sd > 1e-12 ? 1.0 / sd : 0.0;
      std::vector<float> out(nrow);
      for (size_t r = 0; r < nrow; ++r) {
        out[r] = v[r].empty() ? 0.0f : static_cast<float>((num[r] - mean) * inv);
      }
      cols.push_back(std::move(out));
      names.push_back(header[c]);
    } else {
      Coding cat = code_column(v);
      for (size_t j = 0; j < cat.names.size(); ++j) {
        std::vector<float> out(nrow);
        for (size_t r = 0; r < nrow; ++r) out[r] = cat.codes[r] == static_cast<int64_t>(j);
        cols.push_back(std::move(out));
        names.push_back(header[c] + "=" + cat.names[j]);
      }
    }
  }
  const auto f = static_cast<int64_t>(cols.size());
  Dataset full;
  full.images = Tensor::empty({static_cast<int64_t>(nrow), f}, DType::F32);
  float* x = full.images.data<float>();
  for (size_t r = 0; r < nrow; ++r) {
    for (int64_t j = 0; j < f; ++j) x[r * f + j] = cols[static_cast<size_t>(j)][r];
  }
  full.labels = y;
  full.num_classes = k;
  full.class_names = labels.names;
  full.feature_names = names;
  full.name = "csv:" + path;
  if (!opt.protected_col.empty()) {
    // COL<T binarizes a numeric column (German credit's Age<25): code 1 = below T.
    std::string col = opt.protected_col;
    const size_t lt = col.find('<');
    double threshold = 0;
    if (lt != std::string::npos) {
      LETHE_CHECK(parse_double(col.substr(lt + 1), threshold), path, ": protected=", col,
                  ": the threshold after '<' is not a number");
      col = col.substr(0, lt);
    }
    const size_t pc = find_col(col, "protected");
    LETHE_CHECK(pc != label_col, path, ": protected column '", col, "' is the label column");
    std::vector<std::string> v = column(pc);
    Coding p;
    if (lt != std::string::npos) {
      p.names = {col + ">=" + opt.protected_col.substr(lt + 1), opt.protected_col};
      for (size_t r = 0; r < nrow; ++r) {
        double x = 0;
        LETHE_CHECK(parse_double(v[r], x), path, ":", t.line_of_row[r + 1], ": protected column '",
                    col, "' value '", v[r], "' is not a number (needed by protected=", col, "<T)");
        p.codes.push_back(x < threshold ? 1 : 0);
      }
    } else {
      p = code_column(v);
    }
    // A group attribute has a few values; a column with dozens (an age, an amount) is not one.
    LETHE_CHECK(p.names.size() >= 2 && p.names.size() <= kMaxProtectedGroups, path,
                ": protected column '", col, "' has ", p.names.size(),
                " distinct values; a protected attribute needs 2 to ", kMaxProtectedGroups,
                " groups (binarize a numeric column with protected=", col, "<T)");
    full.protected_attr = Tensor::from_vector_i64({static_cast<int64_t>(nrow)}, p.codes);
    full.protected_names = p.names;
  }
  return DataSplit{full.subset(tr), full.subset(te)};
}

}  // namespace lethe::data
