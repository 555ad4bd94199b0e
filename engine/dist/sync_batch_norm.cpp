#include "engine/dist/sync_batch_norm.h"

#include "engine/autograd/autograd.h"
#include "engine/core/error.h"
#include "engine/ops/ops.h"

namespace lethe::dist {

namespace {
thread_local const Communicator* t_comm = nullptr;
thread_local double t_share = 1;
}  // namespace

SyncBatchNormScope::SyncBatchNormScope(const Communicator& comm, double share)
    : saved_comm_(t_comm), saved_share_(t_share) {
  LETHE_CHECK(share > 0, "sync batch norm: a rank with no rows of the batch cannot take part");
  t_comm = comm.size() > 1 ? &comm : nullptr;
  t_share = share;
}

SyncBatchNormScope::~SyncBatchNormScope() {
  t_comm = saved_comm_;
  t_share = saved_share_;
}

const Communicator* sync_batch_norm_group() {
  return t_comm;
}

Tensor allreduce_sum(const Tensor& x, const Communicator& comm, double share) {
  LETHE_CHECK(x.device().is_cpu() && x.dtype() == DType::F32,
              "sync batch norm: host float32 tensors only (a device needs NCCL, not written), got ",
              x.device().is_cpu() ? "f32 on the host" : "a device tensor");
  Tensor y = x.clone();  // a dense copy
  comm.allreduce_sum(y.data<float>(), y.numel());
  const Communicator* c = &comm;
  return record(y, "allreduce_sum", {x}, [c, share](const Tensor& g, const std::vector<bool>&) {
    Tensor gw = ops::mul(g, share).clone();
    c->allreduce_sum(gw.data<float>(), gw.numel());
    return std::vector<Tensor>{ops::mul(gw, 1.0 / share)};
  });
}

Tensor sync_batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                       const Tensor& running_mean, const Tensor& running_var, double momentum,
                       double eps) {
  const Communicator* comm = t_comm;
  LETHE_CHECK(comm, "sync_batch_norm outside a SyncBatchNormScope");
  LETHE_CHECK(x.dim() >= 2, "sync batch norm: input must be [N,C,...], got ", shape_str(x.shape()));
  const int64_t C = x.size(1);
  std::vector<int64_t> dims = {0};
  Shape stat_shape(static_cast<size_t>(x.dim()), 1);
  stat_shape[1] = C;
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  int64_t count = x.numel() / C;  // values per channel, over every rank below
  comm->allreduce_sum(&count, 1);
  LETHE_CHECK(count > 1, "sync batch norm: training needs more than one value per channel over ",
              "the ranks, got ", count);
  const double inv = 1.0 / static_cast<double>(count);
  Tensor mean = ops::mul(allreduce_sum(ops::sum(x, dims, true), *comm, t_share), inv);
  Tensor centred = ops::sub(x, mean);
  Tensor var =
      ops::mul(allreduce_sum(ops::sum(ops::square(centred), dims, true), *comm, t_share), inv);
  Tensor y = ops::div(centred, ops::sqrt(ops::add(var, eps)));
  if (weight.defined()) y = ops::mul(y, ops::reshape(weight, stat_shape));
  if (bias.defined()) y = ops::add(y, ops::reshape(bias, stat_shape));
  if (running_mean.defined() && running_var.defined()) {
    // As batch_norm (PyTorch): running = (1−momentum)·running + momentum·batch, the variance
    // unbiased over the global count.
    NoGradGuard ng;
    const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
    Tensor m = ops::reshape(mean.detach(), {C}), v = ops::reshape(var.detach(), {C});
    Tensor nm = ops::add(ops::mul(running_mean.detach(), 1 - momentum), ops::mul(m, momentum));
    Tensor nv =
        ops::add(ops::mul(running_var.detach(), 1 - momentum), ops::mul(v, momentum * unbias));
    Tensor(running_mean).copy_(nm);
    Tensor(running_var).copy_(nv);
  }
  return y;
}

}  // namespace lethe::dist
