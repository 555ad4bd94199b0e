// CIFAR binary readers: fixed-size records, so a file's size alone tells whether it is whole.
#include "data/cifar.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace lethe::data {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kPixels = 3 * 32 * 32;

// Reads a file of records (label_bytes label bytes, then kPixels pixels); label_at picks which
// label byte is the class.
Dataset read_records(const std::string& path, int64_t label_bytes, int64_t label_at,
                     int64_t num_classes, const std::string& name) {
  std::error_code ec;
  const auto bytes = fs::file_size(path, ec);
  LETHE_CHECK(!ec, path, ": cannot read (", ec.message(), ")");
  const int64_t rec = label_bytes + kPixels;
  LETHE_CHECK(bytes > 0 && bytes % rec == 0, path, ": size ", bytes,
              " is not a positive multiple of the ", rec, "-byte ", name, " record (truncated?)");
  const int64_t n = static_cast<int64_t>(bytes) / rec;
  std::ifstream in(path, std::ios::binary);
  LETHE_CHECK(in, path, ": cannot open (", std::strerror(errno), ")");
  std::vector<uint8_t> buf(static_cast<size_t>(bytes));
  in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(bytes));
  LETHE_CHECK(in.gcount() == static_cast<std::streamsize>(bytes), path, ": short read");
  Dataset d;
  d.images = Tensor::empty({n, 3, 32, 32}, DType::U8);
  d.labels = Tensor::empty({n}, DType::I64);
  uint8_t* x = d.images.data<uint8_t>();
  int64_t* y = d.labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* r = buf.data() + i * rec;
    const int64_t label = r[label_at];
    LETHE_CHECK(label < num_classes, path, ": label ", label, " in record ", i,
                " out of range [0, ", num_classes, ")");
    y[i] = label;
    std::memcpy(x + i * kPixels, r + label_bytes, kPixels);
  }
  d.num_classes = num_classes;
  d.name = name;
  return d;
}

// DIR itself if it holds `probe`, else DIR/sub.
std::string resolve_dir(const std::string& dir, const std::string& sub, const std::string& probe,
                        const std::string& what) {
  if (fs::exists(fs::path(dir) / probe)) return dir;
  if (fs::exists(fs::path(dir) / sub / probe)) return (fs::path(dir) / sub).string();
  LETHE_FAIL(what, ": ", dir, " holds no ", probe, " (nor ", sub, "/", probe, ")");
}

// Non-empty lines of a text file, or {} if absent.
std::vector<std::string> read_names(const fs::path& p) {
  std::vector<std::string> names;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

void set_names(DataSplit& s, const fs::path& file, std::vector<std::string> fallback) {
  std::vector<std::string> names = read_names(file);
  if (names.empty()) names = std::move(fallback);
  if (names.empty()) return;
  LETHE_CHECK(static_cast<int64_t>(names.size()) == s.train.num_classes, file.string(), ": ",
              names.size(), " class names for ", s.train.num_classes, " classes");
  s.train.class_names = s.test.class_names = names;
}

}  // namespace

Dataset read_cifar10_file(const std::string& path) {
  return read_records(path, 1, 0, 10, "cifar10");
}

Dataset read_cifar100_file(const std::string& path) {
  return read_records(path, 2, 1, 100, "cifar100");
}

DataSplit load_cifar10(const std::string& dir) {
  const std::string d = resolve_dir(dir, "cifar-10-batches-bin", "test_batch.bin", "cifar10");
  std::vector<Dataset> parts;
  for (int b = 1; b <= 5; ++b) {
    const fs::path p = fs::path(d) / (lethe::detail::concat("data_batch_", b, ".bin"));
    LETHE_CHECK(fs::exists(p), "cifar10: missing ", p.string());
    parts.push_back(read_cifar10_file(p.string()));
  }
  DataSplit s;
  s.train = concat(parts);
  s.test = read_cifar10_file((fs::path(d) / "test_batch.bin").string());
  set_names(
      s, fs::path(d) / "batches.meta.txt",
      {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"});
  return s;
}

DataSplit load_cifar100(const std::string& dir) {
  const std::string d = resolve_dir(dir, "cifar-100-binary", "test.bin", "cifar100");
  const fs::path train = fs::path(d) / "train.bin";
  LETHE_CHECK(fs::exists(train), "cifar100: missing ", train.string());
  DataSplit s;
  s.train = read_cifar100_file(train.string());
  s.test = read_cifar100_file((fs::path(d) / "test.bin").string());
  set_names(s, fs::path(d) / "fine_label_names.txt", {});
  return s;
}

}  // namespace lethe::data
