// Parsing of attack specs (eval/robust/attack_spec.h).
#include "eval/robust/attack_spec.h"

#include "engine/core/error.h"
#include "engine/core/parse.h"

namespace lethe::eval {
namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.push_back(trim(s.substr(start, p == std::string::npos ? std::string::npos : p - start)));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

}  // namespace

bool parse_fraction(const std::string& s, double& out) {
  size_t slash = s.find('/');
  if (slash == std::string::npos) return parse_double(s, out);
  double a = 0, b = 0;
  if (!parse_double(s.substr(0, slash), a) || !parse_double(s.substr(slash + 1), b) || b == 0)
    return false;
  out = a / b;
  return true;
}

AttackSpec parse_attack_spec(const std::string& spec, const std::string& option) {
  AttackSpec a;
  a.text = trim(spec);
  size_t colon = a.text.find(':');
  std::string name = a.text.substr(0, colon);
  if (name == "pgd") name = "pgd-linf";
  a.name = name;
  if (name == "fgsm") {
    a.kind = AttackKind::Fgsm;
  } else if (name == "pgd-linf" || name == "pgd-l2") {
    a.kind = AttackKind::Pgd;
    a.pgd.norm = name == "pgd-l2" ? Norm::L2 : Norm::Linf;
    if (a.pgd.norm == Norm::L2) a.pgd.eps = 0.5;  // RobustBench's L2 budget for [0,1] images
  } else if (name == "min-eps") {
    a.kind = AttackKind::MinEps;
    a.min_eps.progress = false;
  } else {
    LETHE_FAIL(option, ": unknown attack '", name, "' in '", spec,
               "' (known: fgsm, pgd-linf, pgd-l2, min-eps)");
  }
  bool step_given = false;
  if (colon != std::string::npos) {
    for (const std::string& kv : split(a.text.substr(colon + 1), ',')) {
      size_t eq = kv.find('=');
      LETHE_CHECK(eq != std::string::npos, option, ": expected key=value, got '", kv, "' in '",
                  spec, "'");
      std::string k = trim(kv.substr(0, eq)), v = trim(kv.substr(eq + 1));
      double d = 0;
      LETHE_CHECK(parse_fraction(v, d), option, ": '", k, "' needs a number, got '", v, "' in '",
                  spec, "'");
      auto count = [&](int64_t& dst, int64_t lo) {
        LETHE_CHECK(d == static_cast<double>(static_cast<int64_t>(d)) && d >= lo, option, ": '", k,
                    "' must be an integer >= ", lo, ", got '", v, "' in '", spec, "'");
        dst = static_cast<int64_t>(d);
      };
      auto positive = [&] {
        LETHE_CHECK(d > 0, option, ": '", k, "' must be positive, got '", v, "' in '", spec, "'");
      };
      if (a.kind == AttackKind::MinEps) {
        if (k == "eps0") {
          positive();
          a.min_eps.eps0 = d;
        } else if (k == "steps") {
          count(a.min_eps.steps, 1);
        } else if (k == "doublings") {
          count(a.min_eps.max_doublings, 0);
        } else if (k == "batch") {
          count(a.min_eps.batch, 1);
        } else {
          LETHE_FAIL(option, ": unknown key '", k, "' for min-eps in '", spec,
                     "' (known: eps0, steps, doublings, batch)");
        }
      } else if (k == "eps") {
        LETHE_CHECK(d >= 0, option, ": eps must be >= 0, got '", v, "' in '", spec, "'");
        a.pgd.eps = d;
      } else if (a.kind == AttackKind::Pgd && k == "steps") {
        count(a.pgd.steps, 1);
      } else if (a.kind == AttackKind::Pgd && k == "step") {
        positive();
        a.pgd.step = d;
        step_given = true;
      } else if (a.kind == AttackKind::Pgd && k == "random-start") {
        LETHE_CHECK(d == 0 || d == 1, option, ": random-start is 0 or 1 in '", spec, "'");
        a.pgd.random_start = d == 1;
      } else if (k == "seed") {
        int64_t seed = 0;
        count(seed, 0);
        a.pgd.seed = static_cast<uint64_t>(seed);
      } else {
        LETHE_FAIL(option, ": unknown key '", k, "' for ", name, " in '", spec, "' (known: eps",
                   a.kind == AttackKind::Pgd ? ", steps, step, random-start, seed" : ", seed", ")");
      }
    }
  }
  // Without an explicit step, Madry et al.'s rule of thumb: 2.5·ε/steps.
  if (a.kind == AttackKind::Pgd && !step_given)
    a.pgd.step = 2.5 * a.pgd.eps / static_cast<double>(a.pgd.steps);
  return a;
}

std::vector<AttackSpec> parse_attack_specs(const std::string& list, const std::string& option) {
  std::vector<std::string> specs;
  for (const std::string& part : split(list, ';')) {
    for (const std::string& tok : split(part, ',')) {
      if (tok.empty()) continue;
      bool continues = tok.find('=') != std::string::npos && tok.find(':') == std::string::npos;
      if (continues) {
        LETHE_CHECK(!specs.empty(), option, ": '", tok, "' does not follow an attack name in '",
                    list, "'");
        specs.back() += (specs.back().find(':') == std::string::npos ? ":" : ",") + tok;
      } else {
        specs.push_back(tok);
      }
    }
  }
  LETHE_CHECK(!specs.empty(), option, ": no attack given");
  std::vector<AttackSpec> out;
  for (const std::string& s : specs) out.push_back(parse_attack_spec(s, option));
  return out;
}

}  // namespace lethe::eval
