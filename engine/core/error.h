// Errors: every failure the user can cause is a lethe::Error with one line naming the op, option,
// file or shape at fault. Callers at the program boundary print what() and exit non-zero.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace lethe {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {
template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace lethe

// LETHE_CHECK(cond, parts...): throws lethe::Error with the parts streamed together.
#define LETHE_CHECK(cond, ...)                                               \
  do {                                                                       \
    if (!(cond)) throw ::lethe::Error(::lethe::detail::concat(__VA_ARGS__)); \
  } while (0)

#define LETHE_FAIL(...) throw ::lethe::Error(::lethe::detail::concat(__VA_ARGS__))
