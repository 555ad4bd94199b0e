#include "unlearn/common.h"

#include <cmath>

#include "engine/dist/communicator.h"
#include "unlearn/prefix.h"
#include "unlearn/scope.h"

namespace lethe::unlearn {

std::unique_ptr<optim::SGD> make_sgd(const UnlearnContext& ctx, double lr, double momentum,
                                     double weight_decay) {
  optim::SgdOptions o;
  o.lr = lr;
  o.momentum = momentum;
  o.weight_decay = weight_decay;
  return std::make_unique<optim::SGD>(trainable_parameters(*ctx.model), o);
}

train::EpochOptions epoch_options(const UnlearnContext& ctx, bool augment) {
  train::EpochOptions eo;
  eo.batch = ctx.opt.batch;
  eo.seed = ctx.opt.seed;
  eo.comm = &dist::current();  // data-parallel when started with several ranks
  if (augment) {
    std::string aug = ctx.original_config.value("augment", std::string("none"));
    eo.augment = train::parse_augment(aug, *ctx.train);
  }
  return eo;
}

void run_epochs(UnlearnContext& ctx, optim::Optimizer& opt, const std::vector<int64_t>& indices,
                const train::EpochOptions& eo, int64_t epochs, double lr, bool cosine,
                const std::string& phase) {
  train::EpochOptions o = eo;
  o.check_name = "unlearn " + phase;
  if (!o.cache) attach_prefix_cache(ctx, o, indices);  // built outside the phase's time
  auto scope = ctx.timer->scope(phase);
  const int64_t start = ctx.checkpoint ? ctx.checkpoint->restore(phase, *ctx.model, opt) : 0;
  if (start > 0)
    std::fprintf(stderr, "unlearn: %s resumes after epoch %lld\n", phase.c_str(),
                 static_cast<long long>(start));
  for (int64_t e = start; e < epochs; ++e) {
    double l = cosine ? lr * 0.5 * (1 + std::cos(M_PI * e / static_cast<double>(epochs))) : lr;
    opt.set_lr(l);
    profile::Progress prog(phase + " " + std::to_string(e + 1) + "/" + std::to_string(epochs),
                           static_cast<int64_t>(indices.size()));
    if (ctx.checkpoint) ctx.checkpoint->hook_epoch(o, phase, e, e == start, *ctx.model, opt);
    train::EpochStats st =
        train::train_epoch(*ctx.model, opt, *ctx.train, indices, ctx.norm, o, e, &prog);
    char status[96];
    std::snprintf(status, sizeof status, "loss %.4f acc %.2f%%", st.loss, st.acc);
    prog.finish(status);
    if (ctx.checkpoint) ctx.checkpoint->save(phase, e + 1, *ctx.model, opt);
  }
}

void require_retain(const UnlearnContext& ctx, const std::string& method) {
  LETHE_CHECK(!ctx.opt.no_retain, "--method ", method,
              " needs the retain set and cannot run with --no-retain");
  LETHE_CHECK(!ctx.split.retain.empty(), "--method ", method, ": the retain set is empty");
}

}  // namespace lethe::unlearn
