// The method table: one factory per method file, listed in registry.cpp (explicitly, so a
// reader sees every method in one place and the static library keeps every method's code).
#pragma once
#include <memory>

#include "unlearn/method.h"

namespace lethe::unlearn {

std::unique_ptr<Method> make_retrain();
std::unique_ptr<Method> make_ft();
std::unique_ptr<Method> make_rl();
std::unique_ptr<Method> make_ga();
std::unique_ptr<Method> make_l1();
std::unique_ptr<Method> make_bs();
std::unique_ptr<Method> make_be();
std::unique_ptr<Method> make_sisa();
std::unique_ptr<Method> make_amnesiac();
std::unique_ptr<Method> make_salun();
std::unique_ptr<Method> make_amun();
std::unique_ptr<Method> make_amun_salun();

}  // namespace lethe::unlearn
