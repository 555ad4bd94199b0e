// Image folder / image CSV loader. stb_image's implementation comes from Debian's libstb
// (linked as a library), so this file uses the header only.
#include "data/image_folder.h"

#include <stb/stb_image.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>

#include "data/csv.h"

namespace lethe::data {

namespace fs = std::filesystem;

namespace {

struct ImageList {
  std::vector<std::string> paths;
  std::vector<int64_t> labels;
};

bool is_image_file(const fs::path& p) {
  std::string e = p.extension().string();
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* ok : {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".pnm", ".tga", ".gif"}) {
    if (e == ok) return true;
  }
  return false;
}

std::vector<std::string> class_dirs(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory()) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Images under dir/<class>/ for the given classes (files sorted, so order is reproducible).
ImageList list_folder(const fs::path& dir, const std::vector<std::string>& classes,
                      bool require_all) {
  ImageList l;
  for (size_t c = 0; c < classes.size(); ++c) {
    const fs::path cd = dir / classes[c];
    if (!fs::is_directory(cd)) {
      LETHE_CHECK(!require_all, "folder: ", cd.string(), " missing");
      continue;
    }
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(cd)) {
      if (e.is_regular_file() && is_image_file(e.path())) files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
      l.paths.push_back(std::move(f));
      l.labels.push_back(static_cast<int64_t>(c));
    }
  }
  return l;
}

struct StbFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};

// Decodes every image to `channels` and resizes it to h x w, into u8 [N,C,H,W].
Tensor decode_all(const std::vector<std::string>& paths, int64_t channels, int64_t h, int64_t w) {
  const auto n = static_cast<int64_t>(paths.size());
  Tensor t = Tensor::empty({n, channels, h, w}, DType::U8);
  uint8_t* out = t.data<uint8_t>();
  std::vector<uint8_t> hwc(static_cast<size_t>(h * w * channels));
  for (int64_t i = 0; i < n; ++i) {
    int iw = 0, ih = 0, comp = 0;
    std::unique_ptr<unsigned char, StbFree> px(
        stbi_load(paths[i].c_str(), &iw, &ih, &comp, static_cast<int>(channels)));
    LETHE_CHECK(px != nullptr, paths[i], ": cannot decode image (", stbi_failure_reason(), ")");
    const uint8_t* src = px.get();
    if (ih != h || iw != w) {
      resize_bilinear(px.get(), ih, iw, hwc.data(), h, w, channels);
      src = hwc.data();
    }
    // HWC (stb) -> CHW (tensor).
    uint8_t* dst = out + i * channels * h * w;
    for (int64_t c = 0; c < channels; ++c) {
      for (int64_t p = 0; p < h * w; ++p) dst[c * h * w + p] = src[p * channels + c];
    }
  }
  return t;
}

Dataset build(const ImageList& l, int64_t channels, int64_t h, int64_t w, int64_t num_classes,
              const std::vector<std::string>& names, const std::string& name) {
  Dataset d;
  d.images = decode_all(l.paths, channels, h, w);
  d.labels = Tensor::from_vector_i64({static_cast<int64_t>(l.labels.size())}, l.labels);
  d.num_classes = num_classes;
  d.class_names = names;
  d.name = name;
  return d;
}

// The largest image decoded (4096×4096): a header declaring more (a 60000×60000 PNG is 3.6 GB
// decoded) is refused from its header, before stb or the dataset allocates anything.
constexpr int64_t kMaxImagePixels = int64_t{1} << 24;

void check_image_size(const std::string& what, int64_t w, int64_t h) {
  LETHE_CHECK(w > 0 && h > 0 && w * h <= kMaxImagePixels, what, ": image of ", w, "x", h,
              " pixels exceeds the limit of ", kMaxImagePixels, " pixels (4096x4096)");
}

// Fills unset size/channel options from the images' headers (and bounds every image's size).
void settle_geometry(const std::vector<std::string>& paths, const ImageOptions& opt, int64_t& c,
                     int64_t& h, int64_t& w) {
  c = opt.channels;
  h = opt.height;
  w = opt.width;
  LETHE_CHECK(c == 0 || c == 1 || c == 3, "folder: channels must be 1 or 3, got ", c);
  bool colour = false;
  for (size_t i = 0; i < paths.size(); ++i) {
    int iw = 0, ih = 0, comp = 0;
    LETHE_CHECK(stbi_info(paths[i].c_str(), &iw, &ih, &comp), paths[i], ": not a readable image (",
                stbi_failure_reason(), ")");
    check_image_size(paths[i], iw, ih);
    if (i == 0 && h == 0) {
      h = ih;
      w = iw;
    }
    colour = colour || comp >= 3;
  }
  if (c == 0) c = colour ? 3 : 1;
  check_image_size("folder: --image size", w, h);
  // The decoded dataset itself: N images at the common size.
  const int64_t n = static_cast<int64_t>(paths.size());
  LETHE_CHECK(n <= (int64_t{1} << 34) / (c * h * w), "folder: ", n, " images of ", c, "x", h, "x",
              w, " need more than 16 GiB decoded");
}

DataSplit split_list(const ImageList& all, int64_t num_classes,
                     const std::vector<std::string>& names, const std::string& name, uint64_t seed,
                     const ImageOptions& opt) {
  int64_t c, h, w;
  settle_geometry(all.paths, opt, c, h, w);
  Dataset full = build(all, c, h, w, num_classes, names, name);
  std::vector<int64_t> tr, te;
  stratified_split(full.labels, num_classes, opt.test_fraction, seed, tr, te);
  return DataSplit{full.subset(tr), full.subset(te)};
}

DataSplit load_dir(const fs::path& dir, uint64_t seed, const ImageOptions& opt) {
  const std::string name = "folder:" + dir.string();
  if (fs::is_directory(dir / "train") && fs::is_directory(dir / "test")) {
    const std::vector<std::string> classes = class_dirs(dir / "train");
    LETHE_CHECK(!classes.empty(), name, ": ", (dir / "train").string(), " has no class folders");
    for (const auto& tc : class_dirs(dir / "test")) {
      LETHE_CHECK(std::binary_search(classes.begin(), classes.end(), tc), name, ": test class '",
                  tc, "' has no folder under train/");
    }
    const ImageList tr = list_folder(dir / "train", classes, true);
    const ImageList te = list_folder(dir / "test", classes, false);
    LETHE_CHECK(!tr.paths.empty(), name, ": no images under train/");
    LETHE_CHECK(!te.paths.empty(), name, ": no images under test/");
    int64_t c, h, w;
    std::vector<std::string> both = tr.paths;
    both.insert(both.end(), te.paths.begin(), te.paths.end());
    settle_geometry(both, opt, c, h, w);
    const auto k = static_cast<int64_t>(classes.size());
    return DataSplit{build(tr, c, h, w, k, classes, name), build(te, c, h, w, k, classes, name)};
  }
  const std::vector<std::string> classes = class_dirs(dir);
  LETHE_CHECK(!classes.empty(), name, ": no class subfolders");
  const ImageList all = list_folder(dir, classes, true);
  LETHE_CHECK(!all.paths.empty(), name, ": no images (.png, .jpg, ...) in the class subfolders");
  return split_list(all, static_cast<int64_t>(classes.size()), classes, name, seed, opt);
}

DataSplit load_csv_list(const fs::path& csv, uint64_t seed, const ImageOptions& opt) {
  const std::string file = csv.string();
  CsvTable t = read_csv(file);
  size_t first = 0;
  if (!t.rows.empty() && t.rows[0].size() == 2 && trim(t.rows[0][0]) == "path" &&
      trim(t.rows[0][1]) == "label") {
    first = 1;
  }
  LETHE_CHECK(t.rows.size() > first, file, ": no rows");
  std::vector<std::string> paths, raw;
  bool all_int = true;
  for (size_t r = first; r < t.rows.size(); ++r) {
    LETHE_CHECK(t.rows[r].size() == 2, file, ":", t.line_of_row[r], ": expected `path,label`, got ",
                t.rows[r].size(), " fields");
    fs::path p = trim(t.rows[r][0]);
    if (p.is_relative()) p = csv.parent_path() / p;
    paths.push_back(p.string());
    raw.push_back(trim(t.rows[r][1]));
    int64_t v;
    all_int = all_int && parse_int64(raw.back(), v) && v >= 0;
  }
  ImageList l;
  l.paths = paths;
  std::vector<std::string> names;
  int64_t k = 0;
  if (all_int) {
    for (const auto& s : raw) {
      int64_t v = 0;
      parse_int64(s, v);
      l.labels.push_back(v);
      k = std::max(k, v + 1);
    }
  } else {
    names = raw;
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (const auto& s : raw) {
      l.labels.push_back(std::lower_bound(names.begin(), names.end(), s) - names.begin());
    }
    k = static_cast<int64_t>(names.size());
  }
  return split_list(l, k, names, "folder:" + file, seed, opt);
}

}  // namespace

void resize_bilinear(const uint8_t* src, int64_t sh, int64_t sw, uint8_t* dst, int64_t dh,
                     int64_t dw, int64_t channels) {
  const double sy = static_cast<double>(sh) / dh, sx = static_cast<double>(sw) / dw;
  for (int64_t y = 0; y < dh; ++y) {
    // Half-pixel centres: output pixel y samples source coordinate (y + 0.5) * scale - 0.5.
    const double fy = std::clamp((y + 0.5) * sy - 0.5, 0.0, static_cast<double>(sh - 1));
    const auto y0 = static_cast<int64_t>(fy);
    const int64_t y1 = std::min(y0 + 1, sh - 1);
    const double wy = fy - y0;
    for (int64_t x = 0; x < dw; ++x) {
      const double fx = std::clamp((x + 0.5) * sx - 0.5, 0.0, static_cast<double>(sw - 1));
      const auto x0 = static_cast<int64_t>(fx);
      const int64_t x1 = std::min(x0 + 1, sw - 1);
      const double wx = fx - x0;
      for (int64_t c = 0; c < channels; ++c) {
        auto at = [&](int64_t yy, int64_t xx) {
          return static_cast<double>(src[(yy * sw + xx) * channels + c]);
        };
        const double v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) +
                         wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
        dst[(y * dw + x) * channels + c] =
            static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 255.0)));
      }
    }
  }
}

DataSplit load_image_folder(const std::string& path, uint64_t seed, const ImageOptions& opt) {
  LETHE_CHECK((opt.height == 0) == (opt.width == 0) && opt.height >= 0 && opt.width >= 0,
              "folder: size must give both height and width");
  const fs::path p(path);
  if (fs::is_directory(p)) return load_dir(p, seed, opt);
  LETHE_CHECK(fs::is_regular_file(p), "folder: ", path, " is neither a directory nor a CSV file");
  return load_csv_list(p, seed, opt);
}

}  // namespace lethe::data
