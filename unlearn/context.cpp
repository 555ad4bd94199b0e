#include "unlearn/context.h"

#include "data/spec.h"
#include "engine/io/run_dir.h"
#include "models/checkpoint.h"
#include "train/train_run.h"

namespace lethe::unlearn {

OriginalRun load_original_run(const std::string& dir, const std::string& data_spec) {
  OriginalRun r;
  r.dir = dir;
  r.config = io::read_json(dir + "/config.json");
  models::Checkpoint ck = models::load_checkpoint(dir + "/model.safetensors");
  r.model = ck.model;
  r.model_config = ck.config;
  r.norm = data::Normalization::from_run(ck.metadata, r.config);
  // The original run's seed fixes its data split (folder/csv/synthetic sources).
  const bool own_data = data_spec.empty();
  r.data = data::load_training_data(own_data ? r.config.at("data").get<std::string>() : data_spec,
                                    r.config.value("seed", 0ull),
                                    own_data ? r.config.value("subset", int64_t{0}) : 0);
  return r;
}

UnlearnContext make_context(const OriginalRun& original, const UnlearnOptions& opt,
                            const std::string& out_dir, PhaseTimer* timer) {
  UnlearnContext ctx;
  ctx.model = original.model;
  ctx.model_config = original.model_config;
  ctx.train = &original.data.train;
  ctx.test = &original.data.test;
  ctx.norm = original.norm;
  ctx.original_config = original.config;
  ctx.original_dir = original.dir;
  ctx.out_dir = out_dir;
  ctx.opt = opt;
  ctx.timer = timer;
  return ctx;
}

}  // namespace lethe::unlearn
