// The method table: one factory per method file, listed in registry.cpp (explicitly, so a
// reader sees every method in one place and the static library keeps every method's code).
#pragma once
#include <memory>

#include "unlearn/method.h"

namespace lethe::unlearn {

std::unique_ptr<Method> make_retrain();
std::unique_ptr<Method> make_ft();

}  // namespace lethe::unlearn
