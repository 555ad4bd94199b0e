// `lethe train`: trains a model on a dataset and writes a run directory (see train/train_run.h).
#include <cstdio>

#include "apps/lethe/commands.h"
#include "apps/lethe/device_flags.h"
#include "data/spec.h"
#include "engine/dist/communicator.h"
#include "models/registry.h"
#include "train/reference_models.h"
#include "train/train_run.h"

namespace lethe::app {

Command add_train(CLI::App& app) {
  auto* sub = app.add_subcommand("train", "train a model and write a run directory");
  auto cfg = std::make_shared<train::TrainConfig>();
  sub->add_option("--model", cfg->model, "resnet18|resnet34|resnet50|vit-tiny|vit-small|mlp|logreg")
      ->capture_default_str();
  sub->add_option("--data", cfg->data, "data SPEC (fashion-mnist, mnist:DIR, cifar10:DIR, ...)")
      ->capture_default_str();
  sub->add_option("--out", cfg->out, "run directory")->required();
  sub->add_option("--width", cfg->width, "ResNet width (64 = torchvision)");
  sub->add_option("--stem", cfg->stem, "ResNet stem: cifar|imagenet");
  sub->add_option("--epochs", cfg->epochs)->capture_default_str();
  sub->add_option("--batch", cfg->batch)->capture_default_str();
  sub->add_option("--lr", cfg->lr)->capture_default_str();
  sub->add_option("--optimizer", cfg->optimizer, "sgd|adamw")->capture_default_str();
  sub->add_option("--momentum", cfg->momentum)->capture_default_str();
  sub->add_option("--schedule", cfg->schedule, "constant|cosine|step:E:G|multistep:A,B")
      ->capture_default_str();
  sub->add_option("--warmup", cfg->warmup, "warmup epochs")->capture_default_str();
  sub->add_option("--wd", cfg->wd, "weight decay")->capture_default_str();
  sub->add_option("--augment", cfg->augment, "crop,flip|crop|flip|none")->capture_default_str();
  sub->add_option("--label-smoothing", cfg->label_smoothing)->capture_default_str();
  sub->add_flag("--sync-bn", cfg->sync_bn,
                "under mpirun: batch norm over the global batch, not each rank's slice");
  sub->add_option("--seed", cfg->seed)->capture_default_str();
  sub->add_option("--threads", cfg->threads, "0 = all cores")->capture_default_str();
  sub->add_option("--device", cfg->device,
                  "cpu|emu|cuda (emu: the CUDA kernels on the SIMT emulator, slow)")
      ->capture_default_str();
  sub->add_option("--exclude", cfg->exclude, "forget SPEC left out of training (exact retrain)");
  sub->add_option("--subset", cfg->subset, "train on N samples of the training set");
  sub->add_option("--eval-every", cfg->eval_every, "test accuracy every N epochs (0: at the end)")
      ->capture_default_str();
  sub->add_flag("--overwrite", cfg->overwrite, "replace results in an existing --out");
  sub->add_flag("--resume", cfg->resume,
                "continue a killed or stopped run in --out from its last completed epoch");
  sub->add_option("--checkpoint-every", cfg->checkpoint_every,
                  "with --resume (or --reference-models): also checkpoint every N steps inside "
                  "an epoch (0: at epoch ends only)")
      ->capture_default_str();
  sub->add_option("--max-memory", cfg->max_memory,
                  "refuse a --batch whose step is estimated to need more (e.g. 4G; default: the "
                  "available memory)");
  sub->add_flag("--detect-anomaly", cfg->detect_anomaly,
                "name the first op and module producing NaN/Inf (slow: reads every tensor)");
  sub->add_option("--sisa", cfg->sisa,
                  "S:R: SISA training, S shard models over R slices (for --method sisa)");
  sub->add_flag("--amnesiac", cfg->amnesiac,
                "store every batch's parameter update (for --method amnesiac)");
  sub->add_option("--amnesiac-track", cfg->amnesiac_track,
                  "forget SPEC of the samples whose batches --amnesiac stores (default: all)");
  sub->add_option("--adv-train", cfg->adv_train,
                  "adversarial training: attack spec, e.g. pgd:eps=8/255,steps=7 (pgd-l2, fgsm)");
  sub->add_option("--solver", cfg->solver,
                  "sgd|newton (newton: logreg in float64 to a tight optimum, L2 = --wd)")
      ->capture_default_str();
  sub->add_option("--fair", cfg->fair,
                  "fairness penalty of a newton-solved logreg: eo:lambda=L|dp:lambda=L|none")
      ->capture_default_str();
  sub->add_option("--perturb", cfg->perturb,
                  "σ of the objective perturbation for certified removal (Guo et al. 2020)");
  sub->add_option("--head-from", cfg->head_from,
                  "trained run DIR: keep its network frozen, solve its head by --solver newton");
  auto reference_models = std::make_shared<int64_t>(0);
  sub->add_option("--reference-models", *reference_models,
                  "M: train M reference models on halves of train+test (for --references)");
  auto device = add_device_flags(sub);
  return {sub, [cfg, reference_models, device] {
            device->apply();
            if (cfg->fair != "none" || cfg->perturb > 0 || !cfg->head_from.empty())
              cfg->solver = "newton";
            // The solver sees every row as is; recording the image default would make ft
            // replay an augmentation tabular data cannot have.
            if (cfg->solver == "newton") cfg->augment = "none";
            nlohmann::json m = *reference_models != 0
                                   ? train::run_reference_training(*cfg, *reference_models)
                                   : train::run_training(*cfg);
            if (dist::Communicator::world().is_root()) std::printf("%s\n", m.dump(2).c_str());
            return 0;
          }};
}

}  // namespace lethe::app
