// The method table: one factory per method file, listed in registry.cpp (explicitly, so a
// reader sees every method in one place and the static library keeps every method's code).
#pragma once
#include <memory>

#include "unlearn/method.h"

namespace lethe::unlearn {

std::unique_ptr<Method> make_retrain();
std::unique_ptr<Method> make_fine_tune();
std::unique_ptr<Method> make_random_labels();
std::unique_ptr<Method> make_gradient_ascent();
std::unique_ptr<Method> make_l1_sparse();
std::unique_ptr<Method> make_boundary_shrink();
std::unique_ptr<Method> make_boundary_expanding();
std::unique_ptr<Method> make_sisa();
std::unique_ptr<Method> make_amnesiac();
std::unique_ptr<Method> make_salun();
std::unique_ptr<Method> make_amun();
std::unique_ptr<Method> make_amun_salun();
std::unique_ptr<Method> make_newton();
std::unique_ptr<Method> make_fair_newton();
std::unique_ptr<Method> make_scrub();

}  // namespace lethe::unlearn
