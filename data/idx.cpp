// IDX reader. zlib's gzread reads plain files transparently, so one path handles both forms.
#include "data/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace lethe::data {

namespace {

// An open zlib stream that closes itself.
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path) {
    f_ = gzopen(path.c_str(), "rb");
    LETHE_CHECK(f_ != nullptr, path, ": cannot open (", std::strerror(errno), ")");
    gzbuffer(f_, 1 << 20);
  }
  ~GzFile() {
    if (f_) gzclose(f_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads up to n bytes; returns the count (short only at end of file).
  size_t read(void* buf, size_t n) {
    size_t got = 0;
    auto* p = static_cast<uint8_t*>(buf);
    while (got < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30));
      const int r = gzread(f_, p + got, chunk);
      if (r < 0) {
        int err = 0;
        const char* msg = gzerror(f_, &err);
        // A gzip stream cut short reads as end of data; the caller then reports the truncation.
        if (err == Z_BUF_ERROR) break;
        LETHE_FAIL(path_, ": read error (", msg ? msg : "unknown", ")");
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  }
  // Up to n bytes, in a buffer that grows only as data arrives: a header promising gigabytes in
  // a small (or small compressed) file is refused by its size check, never allocated first.
  std::vector<uint8_t> read_up_to(size_t n) {
    std::vector<uint8_t> out;
    constexpr size_t kChunk = size_t{64} << 20;
    while (out.size() < n) {
      const size_t old = out.size(), step = std::min(n - old, kChunk);
      out.resize(old + step);
      const size_t got = read(out.data() + old, step);
      out.resize(old + got);
      if (got < step) break;
    }
    return out;
  }
  // After the promised payload: anything left is an error, so a wrong file is not half-read.
  void expect_end(size_t payload) {
    uint8_t extra[64];
    const size_t more = read(extra, sizeof extra);
    LETHE_CHECK(more == 0, path_, ": ", more == sizeof extra ? "at least " : "", more,
                " bytes beyond the ", payload, " bytes of data the header promises");
  }

 private:
  std::string path_;
  gzFile f_ = nullptr;
};

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

constexpr uint32_t kImageMagic = 0x00000803, kLabelMagic = 0x00000801;
// Caps that catch a garbage header before it asks for an absurd allocation.
constexpr uint64_t kMaxSide = 1u << 14, kMaxElems = uint64_t{1} << 36;

const char* kFashionNames[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// The first existing file among the usual spellings of `stem` in dir.
std::string find_idx(const std::string& dir, const std::string& prefix, const std::string& kind) {
  namespace fs = std::filesystem;
  // kind: "images-idx3" or "labels-idx1"; distributions use '-' or '.' before idx.
  std::string dotted = kind;
  dotted[kind.find('-')] = '.';
  for (const std::string& base :
       {prefix + "-" + kind + "-ubyte", prefix + "-" + dotted + "-ubyte"}) {
    for (const char* ext : {"", ".gz"}) {
      fs::path p = fs::path(dir) / (base + ext);
      if (fs::is_regular_file(p)) return p.string();
    }
  }
  LETHE_FAIL(dir, ": no ", prefix, "-", kind, "-ubyte[.gz] file found");
}

// The magic and the `dims` big-endian sizes that open an IDX file of u8 values.
std::vector<uint64_t> read_idx_header(GzFile& f, const std::string& path, const char* kind,
                                      uint32_t magic, int dims) {
  uint8_t h[16];
  const size_t got = f.read(h, 4);
  LETHE_CHECK(got == 4, path, ": truncated IDX header (", got, " bytes)");
  const uint32_t m = be32(h);
  LETHE_CHECK(m == magic, path, ": bad IDX ", kind, " magic 0x", std::hex, m, " (expected 0x",
              magic, " = u8, ", std::dec, dims, dims == 1 ? " dimension)" : " dimensions)");
  const size_t want = 4 * static_cast<size_t>(dims);
  LETHE_CHECK(f.read(h + 4, want) == want, path, ": truncated IDX header");
  std::vector<uint64_t> sizes(dims);
  for (int i = 0; i < dims; ++i) sizes[i] = be32(h + 4 + 4 * i);
  return sizes;
}

}  // namespace

Tensor read_idx_images(const std::string& path) {
  GzFile f(path);
  const std::vector<uint64_t> dims = read_idx_header(f, path, "image", kImageMagic, 3);
  const uint64_t n = dims[0], rows = dims[1], cols = dims[2];
  LETHE_CHECK(rows > 0 && cols > 0 && rows <= kMaxSide && cols <= kMaxSide, path,
              ": implausible image size ", rows, "x", cols);
  LETHE_CHECK(n * rows * cols <= kMaxElems, path, ": implausible image count ", n);
  const size_t want = n * rows * cols;
  const std::vector<uint8_t> px = f.read_up_to(want);
  const size_t have = px.size();
  LETHE_CHECK(have == want, path, ": truncated: header promises ", n, " images of ", rows, "x",
              cols, " (", want, " bytes) but the file holds ", have);
  f.expect_end(want);
  Tensor t = Tensor::empty(
      {static_cast<int64_t>(n), 1, static_cast<int64_t>(rows), static_cast<int64_t>(cols)},
      DType::U8);
  if (want) std::memcpy(t.raw(), px.data(), want);
  return t;
}

Tensor read_idx_labels(const std::string& path, int64_t num_classes) {
  GzFile f(path);
  const uint64_t n = read_idx_header(f, path, "label", kLabelMagic, 1)[0];
  const std::vector<uint8_t> raw = f.read_up_to(n);
  const size_t have = raw.size();
  LETHE_CHECK(have == n, path, ": truncated: header promises ", n, " labels but the file holds ",
              have);
  f.expect_end(n);
  Tensor t = Tensor::empty({static_cast<int64_t>(n)}, DType::I64);
  int64_t* y = t.data<int64_t>();
  for (size_t i = 0; i < n; ++i) {
    LETHE_CHECK(raw[i] < num_classes, path, ": label ", int{raw[i]}, " at index ", i,
                " out of range [0, ", num_classes, ")");
    y[i] = raw[i];
  }
  return t;
}

Dataset load_idx_pair(const std::string& images_path, const std::string& labels_path,
                      const std::string& name, int64_t num_classes) {
  Dataset d;
  d.images = read_idx_images(images_path);
  d.labels = read_idx_labels(labels_path, num_classes);
  LETHE_CHECK(d.images.size(0) == d.labels.size(0), images_path, ": ", d.images.size(0),
              " images but ", labels_path, " holds ", d.labels.size(0), " labels");
  d.num_classes = num_classes;
  d.name = name;
  return d;
}

DataSplit load_idx_dir(const std::string& dir, const std::string& name, bool fashion) {
  LETHE_CHECK(std::filesystem::is_directory(dir), name, ": ", dir, " is not a directory");
  DataSplit s;
  s.train = load_idx_pair(find_idx(dir, "train", "images-idx3"),
                          find_idx(dir, "train", "labels-idx1"), name);
  s.test = load_idx_pair(find_idx(dir, "t10k", "images-idx3"), find_idx(dir, "t10k", "labels-idx1"),
                         name);
  LETHE_CHECK(s.train.height() == s.test.height() && s.train.width() == s.test.width(), dir,
              ": train and test images differ in size");
  std::vector<std::string> names;
  for (int c = 0; c < 10; ++c) names.push_back(fashion ? kFashionNames[c] : std::to_string(c));
  s.train.class_names = s.test.class_names = names;
  return s;
}

}  // namespace lethe::data
