// Shared by the libFuzzer targets (one file per parser): the input as a file where the parser
// takes a path, and the rule every target checks — outside data may be refused, but only with a
// lethe::Error (the one-line error the program prints); anything else (a crash, a sanitizer
// report, another exception escaping) is a finding.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/core/error.h"

namespace lethe::fuzz {

// A private scratch directory per process (parallel fuzzing jobs do not collide).
inline const std::string& scratch() {
  static const std::string dir = [] {
    std::string d = std::filesystem::temp_directory_path().string() + "/lethe-fuzz-" +
                    std::to_string(::getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

inline std::string write_file(const std::string& rel, const uint8_t* data, size_t size) {
  const std::string path = scratch() + "/" + rel;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

// Runs f; a lethe::Error is an accepted refusal.
template <typename F>
void refusal_ok(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

}  // namespace lethe::fuzz
