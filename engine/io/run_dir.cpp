#include "engine/io/run_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/core/error.h"

namespace lethe::io {
namespace fs = std::filesystem;

void prepare_run_dir(const std::string& dir, bool overwrite, const std::string& option,
                     bool resuming) {
  LETHE_CHECK(!dir.empty(), option, ": an output directory is required");
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    LETHE_CHECK(fs::is_directory(dir, ec), option, " '", dir, "' exists and is not a directory");
    const fs::path d(dir);
    const bool metrics = fs::exists(d / "metrics.json", ec);
    // A run writes metrics.json last and deletes its checkpoint after it: a resumed run whose
    // finish was cut short (results partly written, or the checkpoint still there) is unfinished.
    const bool has_results = resuming ? metrics && !fs::exists(d / "resume.safetensors", ec)
                                      : metrics || fs::exists(d / "model.safetensors", ec);
    LETHE_CHECK(!has_results || overwrite, option, " '", dir,
                "' already holds results; choose another directory or pass --overwrite");
    return;
  }
  fs::create_directories(dir, ec);
  LETHE_CHECK(!ec, option, " '", dir, "': cannot create directory: ", ec.message());
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string o = "\"";
  for (char ch : s) o += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return o + "\"";
}

void write_text_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  LETHE_CHECK(fd >= 0, "cannot write '", path, "': ", std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t w = ::write(fd, text.data() + done, text.size() - done);
    if (w < 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      LETHE_FAIL("cannot write '", path, "': ", std::strerror(errno));
    }
    done += static_cast<size_t>(w);
  }
  bool ok = ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    LETHE_FAIL("cannot write '", path, "': ", std::strerror(errno));
  }
}

void write_json_atomic(const std::string& path, const nlohmann::json& j) {
  write_text_atomic(path, j.dump(2) + "\n");
}

void append_jsonl(const std::string& path, const nlohmann::json& j) {
  std::ofstream f(path, std::ios::app);
  LETHE_CHECK(f.good(), "cannot append to '", path, "': ", std::strerror(errno));
  f << j.dump() << "\n";
  f.flush();
  LETHE_CHECK(f.good(), "cannot append to '", path, "': ", std::strerror(errno));
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  LETHE_CHECK(f.good(), "cannot read '", path, "'");
  std::stringstream ss;
  ss << f.rdbuf();
  try {
    return nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    LETHE_FAIL("'", path, "' is not valid JSON: ", e.what());
  }
}

nlohmann::json read_run_record(const std::string& run_dir, const std::string& subdir,
                               const std::string& file, const std::string& trained_with) {
  const std::string dir = run_dir + "/" + subdir, path = dir + "/" + file;
  LETHE_CHECK(std::filesystem::is_directory(dir), dir,
              " not found: the original run was not trained with ", trained_with, " (lethe train ",
              trained_with, ")");
  LETHE_CHECK(std::filesystem::exists(path), path, " not found: the ", trained_with,
              " training of ", run_dir, " did not finish (retrain it with lethe train ",
              trained_with, ")");
  return read_json(path);
}

}  // namespace lethe::io
