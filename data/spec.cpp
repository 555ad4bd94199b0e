// Data SPEC parser: `kind:path[:key=value...]`; options are peeled off the end so paths may
// themselves contain ':'.
#include "data/spec.h"

#include <map>

#include "data/cifar.h"
#include "data/csv.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "data/random.h"
#include "data/random_streams.h"
#include "data/synthetic.h"
#include "data/tabular.h"

namespace lethe::data {

namespace {

std::vector<std::string> split_colon(const std::string& s) {
  std::vector<std::string> parts;
  size_t b = 0;
  while (true) {
    const size_t e = s.find(':', b);
    parts.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return parts;
}

struct Parsed {
  std::string path;                         // the remaining parts joined by ':'
  std::vector<std::string> positional;      // the remaining parts
  std::map<std::string, std::string> opts;  // trailing key=value parts
};

// Peels trailing `key=value` parts whose key is in `keys`; an unknown key is an error.
Parsed parse_rest(const std::string& spec, const std::vector<std::string>& parts,
                  const std::vector<std::string>& keys) {
  Parsed p;
  size_t end = parts.size();
  while (end > 1) {
    const std::string& s = parts[end - 1];
    const size_t eq = s.find('=');
    if (eq == std::string::npos) break;
    const std::string key = s.substr(0, eq);
    bool known = false;
    for (const auto& k : keys) known = known || k == key;
    std::string valid;
    for (const auto& k : keys) valid += (valid.empty() ? "" : ", ") + k;
    LETHE_CHECK(known, "--data ", spec, ": unknown option '", key, "' (valid: ", valid, ")");
    LETHE_CHECK(!p.opts.count(key), "--data ", spec, ": option '", key, "' given twice");
    p.opts[key] = s.substr(eq + 1);
    --end;
  }
  for (size_t i = 1; i < end; ++i) {
    p.positional.push_back(parts[i]);
    p.path += (i > 1 ? ":" : "") + parts[i];
  }
  return p;
}

int64_t int_opt(const std::string& spec, const std::string& key, const std::string& v) {
  int64_t x = 0;
  LETHE_CHECK(parse_int64(v, x), "--data ", spec, ": ", key, "=", v, " is not an integer");
  return x;
}

double double_opt(const std::string& spec, const std::string& key, const std::string& v) {
  double x = 0;
  LETHE_CHECK(parse_double(v, x), "--data ", spec, ": ", key, "=", v, " is not a number");
  return x;
}

uint64_t seed_opt(const std::string& spec, const Parsed& p, uint64_t seed) {
  auto it = p.opts.find("seed");
  if (it == p.opts.end()) return seed;
  const int64_t s = int_opt(spec, "seed", it->second);
  LETHE_CHECK(s >= 0, "--data ", spec, ": seed must be non-negative");
  return static_cast<uint64_t>(s);
}

double test_opt(const std::string& spec, const Parsed& p) {
  auto it = p.opts.find("test");
  if (it == p.opts.end()) return 0.2;
  const double f = double_opt(spec, "test", it->second);
  LETHE_CHECK(f > 0 && f < 1, "--data ", spec, ": test=", it->second, " must be in (0, 1)");
  return f;
}

[[noreturn]] void bad_spec(const std::string& spec, const std::string& why) {
  LETHE_FAIL("--data ", spec, ": ", why, "; valid forms: ", data_spec_forms());
}

std::string need_path(const std::string& spec, const Parsed& p, const char* what) {
  if (p.path.empty()) bad_spec(spec, std::string("missing ") + what);
  return p.path;
}

DataSplit load(const std::string& spec, uint64_t seed) {
  const std::vector<std::string> parts = split_colon(spec);
  const std::string& kind = parts[0];
  if (kind == "fashion-mnist" || kind == "mnist") {
    const Parsed p = parse_rest(spec, parts, {});
    std::string dir = p.path;
    if (dir.empty()) {
      if (kind == "mnist") bad_spec(spec, "missing DIR");
      dir = kFashionMnistDir;
    }
    return load_idx_dir(dir, kind, kind == "fashion-mnist");
  }
  if (kind == "cifar10" || kind == "cifar100") {
    const Parsed p = parse_rest(spec, parts, {});
    const std::string dir = need_path(spec, p, "DIR");
    return kind == "cifar10" ? load_cifar10(dir) : load_cifar100(dir);
  }
  if (kind == "folder") {
    const Parsed p = parse_rest(spec, parts, {"size", "channels", "test", "seed"});
    ImageOptions o;
    o.test_fraction = test_opt(spec, p);
    if (auto it = p.opts.find("size"); it != p.opts.end()) {
      const std::string& v = it->second;
      const size_t x = v.find('x');
      o.height = int_opt(spec, "size", v.substr(0, x));
      o.width = x == std::string::npos ? o.height : int_opt(spec, "size", v.substr(x + 1));
      LETHE_CHECK(o.height > 0 && o.width > 0 && o.height <= 4096 && o.width <= 4096, "--data ",
                  spec, ": size=", v, " must be in [1, 4096]");
    }
    if (auto it = p.opts.find("channels"); it != p.opts.end()) {
      o.channels = int_opt(spec, "channels", it->second);
      LETHE_CHECK(o.channels == 1 || o.channels == 3, "--data ", spec, ": channels must be 1 or 3");
    }
    return load_image_folder(need_path(spec, p, "DIR or FILE.csv"), seed_opt(spec, p, seed), o);
  }
  if (kind == "csv") {
    const Parsed p = parse_rest(spec, parts, {"label", "protected", "test", "seed"});
    TabularOptions o;
    o.test_fraction = test_opt(spec, p);
    if (auto it = p.opts.find("label"); it != p.opts.end()) o.label = it->second;
    if (auto it = p.opts.find("protected"); it != p.opts.end()) o.protected_col = it->second;
    return load_tabular_csv(need_path(spec, p, "FILE"), seed_opt(spec, p, seed), o);
  }
  if (kind == "synthetic") {
    const Parsed p = parse_rest(spec, parts, {"sep", "test", "seed"});
    if (p.positional.empty() || p.positional[0] != "mixture") {
      bad_spec(spec, "unknown synthetic generator");
    }
    if (p.positional.size() > 4) bad_spec(spec, "too many fields");
    MixtureOptions o;
    int64_t* fields[3] = {&o.classes, &o.dims, &o.samples};
    for (size_t i = 1; i < p.positional.size(); ++i) {
      *fields[i - 1] = int_opt(spec, i == 1 ? "K" : i == 2 ? "D" : "N", p.positional[i]);
    }
    if (auto it = p.opts.find("sep"); it != p.opts.end()) {
      o.separation = double_opt(spec, "sep", it->second);
      LETHE_CHECK(o.separation > 0, "--data ", spec, ": sep must be positive");
    }
    o.test_fraction = test_opt(spec, p);
    return make_mixture(o, seed_opt(spec, p, seed));
  }
  bad_spec(spec, "unknown data source '" + kind + "'");
}

}  // namespace

std::string data_spec_forms() {
  return "fashion-mnist[:DIR], mnist:DIR, cifar10:DIR, cifar100:DIR, "
         "folder:DIR|FILE.csv[:size=S|HxW][:channels=1|3][:test=F][:seed=S], "
         "csv:FILE[:label=COL][:protected=COL|COL<T][:test=F][:seed=S], "
         "synthetic:mixture[:K[:D[:N]]][:sep=S][:test=F][:seed=S]";
}

DataSplit load_training_data(const std::string& spec, uint64_t seed, int64_t subset) {
  DataSplit ds = load_dataset(spec, seed);
  if (subset > 0 && subset < ds.train.size())
    ds.train = ds.train.subset(
        choose_sorted(all_indices(ds.train), subset, stream_key(seed, kTrainSubset)));
  return ds;
}

DataSplit load_dataset(const std::string& spec, uint64_t seed) {
  DataSplit s = load(spec, seed);
  s.train.validate(spec + " (train)");
  s.test.validate(spec + " (test)");
  LETHE_CHECK(s.train.size() > 0, "--data ", spec, ": the training set is empty");
  return s;
}

}  // namespace lethe::data
