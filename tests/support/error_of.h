// The lethe::Error message a callable throws, or "" when it throws none: for tests that check
// more of an error line than one substring (CHECK_THROWS_WITH covers that case).
#pragma once
#include <string>

#include "engine/core/error.h"

namespace lethe::test {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const lethe::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace lethe::test
