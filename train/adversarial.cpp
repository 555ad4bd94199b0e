// Adversarial training's batch hook (train/adversarial.h).
#include "train/adversarial.h"

#include <memory>

#include "data/random.h"
#include "eval/robust/attack_spec.h"

namespace lethe::train {

std::function<Tensor(const Tensor&, const Tensor&)> make_adversarial_perturb(
    models::Classifier& model, const data::Normalization& norm, const std::string& spec, bool image,
    uint64_t seed) {
  eval::AttackSpec a = eval::parse_attack_spec(spec, "--adv-train");
  LETHE_CHECK(a.kind != eval::AttackKind::MinEps, "--adv-train: '", spec,
              "' is not a training attack (use pgd-linf, pgd-l2 or fgsm)");
  a.pgd.box.clamp = image;
  auto step = std::make_shared<uint64_t>(0);  // a fresh random start for every batch
  return [&model, norm, a, seed, step](const Tensor& x01, const Tensor& y) {
    if (a.kind == eval::AttackKind::Fgsm)
      return eval::fgsm(model, norm, x01, y, a.pgd.eps, a.pgd.box);
    eval::PgdOptions po = a.pgd;
    po.seed = data::stream_key(seed ^ a.pgd.seed, data::kAdversarialTraining, (*step)++);
    return eval::pgd(model, norm, x01, y, po);
  };
}

}  // namespace lethe::train
