// The single doctest entry point; ctest runs this binary once per suite (folder).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
