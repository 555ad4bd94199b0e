// The build identity (commit, build type) recorded by `lethe info` and in every run directory.
// Generated at build time into one small translation unit so a new commit recompiles one file.
#pragma once

namespace lethe {
const char* build_commit();  // short hash, "-dirty" when the tree had changes, or "unknown"
const char* build_type();
const char* build_version();  // the project version of CMakeLists.txt (its one home)
}  // namespace lethe
