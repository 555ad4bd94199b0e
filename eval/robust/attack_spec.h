// Attack specs as the command line writes them: NAME[:key=value,...]. Values accept fractions
// ("8/255"), the way the robustness literature states budgets.
//   fgsm:eps=8/255
//   pgd-linf:eps=8/255,steps=10,step=2/255,random-start=1
//   pgd-l2:eps=0.5,steps=10,step=0.1
//   min-eps[:eps0=0.04,steps=50,doublings=12]        (AMUN's minimal-ε search, L2)
// `pgd` alone means pgd-linf. Unknown names or keys are an error naming the spec.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "eval/attacks/pgd.h"

namespace lethe::eval {

enum class AttackKind { Fgsm, Pgd, MinEps };

struct AttackSpec {
  std::string text;  // as given
  std::string name;  // canonical: fgsm | pgd-linf | pgd-l2 | min-eps
  AttackKind kind = AttackKind::Pgd;
  PgdOptions pgd;         // fgsm uses pgd.eps; pgd uses all of it
  MinEpsOptions min_eps;  // min-eps only
};

// A number or a fraction "a/b" (both finite, b != 0); false otherwise.
bool parse_fraction(const std::string& s, double& out);

// One spec; throws lethe::Error naming `option` and the spec on bad input.
AttackSpec parse_attack_spec(const std::string& spec, const std::string& option = "--attack");
// A list: "fgsm:eps=8/255,pgd-linf:eps=8/255,steps=10,min-eps". A comma token holding '=' but no
// ':' continues the previous spec's keys; any other token starts a new spec (';' also separates).
std::vector<AttackSpec> parse_attack_specs(const std::string& list,
                                           const std::string& option = "--attack");

}  // namespace lethe::eval
