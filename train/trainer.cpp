#include "train/trainer.h"

#include "engine/dist/sync_batch_norm.h"

#include <chrono>
#include <cstdio>
#include <optional>

#include "data/loader.h"
#include "engine/core/stop_signal.h"
#include "engine/core/uploader.h"
#include "engine/dist/grad_reducer.h"
#include "engine/ops/ops.h"
#include "eval/predict.h"
#include "train/numerics.h"

namespace lethe::train {

data::Augment parse_augment(const std::string& spec, const data::Dataset& d) {
  data::Augment a;
  if (spec == "none" || spec.empty()) return a;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    std::string t = spec.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (t == "crop")
      a.crop_pad = d.height() >= 32 ? 4 : 2;
    else if (t == "flip")
      a.flip = true;
    else
      LETHE_FAIL("--augment: unknown transform '", t, "' (use crop, flip, crop,flip or none)");
    if (end == std::string::npos) break;
    start = end + 1;
  }
  LETHE_CHECK(d.is_image() || !a.enabled(), "--augment: ", spec, " needs image data");
  return a;
}

EpochStats train_epoch(models::Classifier& model, optim::Optimizer& opt, const data::Dataset& d,
                       const std::vector<int64_t>& indices, const data::Normalization& norm,
                       const EpochOptions& o, int64_t epoch, profile::Progress* progress) {
  model.train(true);
  data::LoaderOptions lo;
  lo.batch_size = o.batch;
  lo.shuffle = o.shuffle;
  lo.drop_last = o.drop_last;
  lo.augment = o.augment;
  lo.seed = o.seed;
  const dist::Communicator& comm = o.comm ? *o.comm : dist::Communicator::self();
  lo.part = comm.rank();
  lo.parts = comm.size();
  std::optional<dist::GradientReducer> reducer;
  if (comm.size() > 1) {
    reducer.emplace(comm, opt.params());
    reducer->broadcast_parameters();
  }
  if (o.cache) {
    LETHE_CHECK(!o.augment.enabled() && !o.perturb,
                "train: cached prefix features cannot be augmented or perturbed");
    lo.x_source = [c = o.cache](const std::vector<int64_t>& rows) { return c->gather(rows); };
  }
  const bool sync_bn = o.sync_bn && comm.size() > 1;
  LETHE_CHECK(!sync_bn || model.device().is_cpu(),
              "--sync-bn: host models only (on a device it needs NCCL, which is not written)");
  data::Loader loader(d, indices, lo);
  loader.start_epoch(epoch);
  auto t0 = std::chrono::steady_clock::now();
  double loss_sum = 0;
  int64_t correct = 0, seen = 0, step = 0;
  char status[96];
  // A model on a device trains on device copies of the batches: uploaded through pinned buffers
  // on the copy stream one batch ahead, so the next batch's copy overlaps this step's compute.
  // The labels stay on the host too (the running accuracy compares them there).
  const Device dev = model.device();
  std::optional<DeviceUploader> uploader;
  if (!dev.is_cpu()) uploader.emplace(dev);
  struct Staged {
    data::Batch b;
    std::vector<int64_t> y_host;
  };
  auto next_batch = [&](Staged& s, bool upload = true) {
    while (loader.next(s.b)) {
      // batch norm needs > 1 sample (the whole batch decides, so every rank skips it alike);
      // synchronised batch norm also needs a row on every rank (each takes part in its sums)
      if (s.b.global_rows < 2 && model.is_training()) continue;
      if (sync_bn && s.b.global_rows < comm.size()) continue;
      s.y_host = s.b.y.to_vector_i64();
      if (o.relabel) {
        for (size_t i = 0; i < s.y_host.size(); ++i)
          s.y_host[i] = o.relabel(s.b.indices[i], s.y_host[i], epoch);
        s.b.y = Tensor::from_vector_i64(s.b.y.shape(), s.y_host);
      }
      if (upload && uploader && !s.y_host.empty()) {
        std::vector<Tensor> up = uploader->upload({s.b.x, s.b.y});
        s.b.x = up[0];
        s.b.y = up[1];
      }
      return true;
    }
    return false;
  };
  Staged cur, ahead;
  bool have = true;
  if (o.resume_at) {  // the steps a mid-epoch checkpoint holds: drawn in order, not trained on
    for (; step < o.resume_at->step && (have = next_batch(cur, false)); ++step)
      if (progress) progress->advance(cur.b.global_rows, "resumed");
    loss_sum = o.resume_at->loss_sum;
    correct = o.resume_at->correct;
    seen = o.resume_at->seen;
  }
  if (have) have = next_batch(cur);
  while (have) {
    const bool have_ahead = next_batch(ahead);  // its copy overlaps the step below
    data::Batch& b = cur.b;
    const int64_t n = static_cast<int64_t>(cur.y_host.size());
    if (o.before_step) o.before_step(b);
    opt.zero_grad();
    Tensor logits, loss;
    auto objective_of_batch = [&] {
      logits = o.cache ? model.forward_suffix(b.x, o.cache->cut()) : model.forward(norm.apply(b.x));
      loss = ops::cross_entropy(logits, b.y, ops::Reduction::Mean, o.label_smoothing);
      Tensor objective = o.loss_sign == 1 ? loss : ops::mul(loss, o.loss_sign);
      if (o.extra_loss) objective = ops::add(objective, o.extra_loss());
      return objective;
    };
    const StepCheck at{o.check_name, epoch, step};
    double loss_v = 0;
    if (n > 0) {  // a rank's slice of a short last batch may be empty
      if (o.perturb) b.x = o.perturb(b.x, b.y);
      {
        // Only around the step's own pass: a fault's replay below (one rank alone) must not
        // enter collectives the other ranks are not in; it normalizes by its slice.
        std::optional<dist::SyncBatchNormScope> sync;
        if (sync_bn)
          sync.emplace(comm, static_cast<double>(n) / static_cast<double>(b.global_rows));
        anomaly_at_step(at, [&] { objective_of_batch().backward(); });
      }
      // The read-back of a step: the loss (checked with the gradients, before the update, so a
      // fault never reaches the parameters: train/numerics.h) and the logits.
      loss_v = checked_loss(at, loss, model, b.x, objective_of_batch);
    }
    // The slice's mean-loss gradient weighted by its share of the global batch, summed over
    // the ranks: the global batch's mean-loss gradient (extra_loss terms, weighted alike, once).
    if (reducer) reducer->reduce(static_cast<double>(n) / static_cast<double>(b.global_rows));
    opt.step();
    if (o.after_step) o.after_step();
    ++step;
    if (n > 0) {
      loss_sum += loss_v * n;
      std::vector<int64_t> pred = eval::argmax_rows(logits);
      for (int64_t i = 0; i < n; ++i) correct += pred[i] == cur.y_host[i];
      seen += n;
    }
    // SIGINT/SIGTERM (engine/core/stop_signal.h): stop between steps, saving the position when
    // the run checkpoints (else --resume continues from its last completed epoch).
    const int sig = stop_requested();
    // (After an epoch's last step its end-of-epoch checkpoint follows: no periodic save.)
    if (o.save_position &&
        (sig || (o.checkpoint_every > 0 && step % o.checkpoint_every == 0 && have_ahead)))
      o.save_position({step, loss_sum, correct, seen});
    if (sig)
      LETHE_FAIL(step_prefix(at), "stopped by ", signal_name(sig), "; --resume continues ",
                 o.save_position ? "after step " + std::to_string(step) + " of epoch " +
                                       std::to_string(epoch + 1)
                                 : std::string("from the last completed epoch"));
    if (progress) {
      std::snprintf(status, sizeof status, "loss %.4f acc %.2f%%", seen ? loss_sum / seen : 0.0,
                    seen ? 100.0 * correct / seen : 0.0);
      progress->advance(b.global_rows, status);  // rank 0's view: its rank's running figures
    }
    std::swap(cur, ahead);
    have = have_ahead;
  }
  EpochStats s;
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  s.rows = seen;
  s.samples_per_s = s.seconds > 0 ? seen / s.seconds : 0;
  double sums[3] = {loss_sum, static_cast<double>(correct), static_cast<double>(seen)};
  comm.allreduce_sum(sums, 3);  // the epoch's figures over every rank's rows
  s.loss = sums[2] > 0 ? sums[0] / sums[2] : 0;
  s.acc = sums[2] > 0 ? 100.0 * sums[1] / sums[2] : 0;
  return s;
}

}  // namespace lethe::train
