// DeviceBackend batch norm and layer norm: stage the tensors, run kernels/cuda/batchnorm.cu and
// layernorm.cu on the backend stream (workspaces from the caching allocator), download.
#include "engine/backend/cuda/device_backend.h"
#include "engine/backend/dispatch.h"
#include "kernels/cuda/batchnorm.cuh"
#include "kernels/cuda/layernorm.cuh"

namespace lethe::LETHE_KNS {
namespace {

DeviceBuffer workspace(int64_t floats) {
  return DeviceBuffer(static_cast<size_t>(floats) * sizeof(float));
}

}  // namespace

void DeviceBackend::batch_norm_forward_train(const Tensor& x, const Tensor& weight,
                                             const Tensor& bias, Tensor& y, Tensor& mean,
                                             Tensor& var, double eps) {
  if (!all_f32({&x, &weight, &bias, &y, &mean, &var}))
    return ref_.batch_norm_forward_train(x, weight, bias, y, mean, var, eps);
  auto [N, C, S] = ncs(x);
  DeviceBuffer dx = upload(x), dw = upload(weight), db = upload(bias);
  DeviceBuffer dy = output_buffer(y), dm = output_buffer(mean), dv = output_buffer(var);
  DeviceBuffer ws = workspace(batchnorm_workspace_floats(N, C, S));
  batchnorm_forward_train(dx.as<float>(), dw.as<float>(), db.as<float>(), dy.as<float>(),
                          dm.as<float>(), dv.as<float>(), N, C, S, static_cast<float>(eps),
                          ws.as<float>(), backend_stream());
  download(dy, y);
  download(dm, mean);
  download(dv, var);
}

void DeviceBackend::batch_norm_forward_eval(const Tensor& x, const Tensor& weight,
                                            const Tensor& bias, const Tensor& mean,
                                            const Tensor& var, Tensor& y, double eps) {
  if (!all_f32({&x, &weight, &bias, &mean, &var, &y}))
    return ref_.batch_norm_forward_eval(x, weight, bias, mean, var, y, eps);
  auto [N, C, S] = ncs(x);
  DeviceBuffer dx = upload(x), dw = upload(weight), db = upload(bias), dm = upload(mean),
               dv = upload(var);
  DeviceBuffer dy = output_buffer(y);
  DeviceBuffer ws = workspace(batchnorm_eval_workspace_floats(C));
  batchnorm_forward_eval(dx.as<float>(), dw.as<float>(), db.as<float>(), dm.as<float>(),
                         dv.as<float>(), dy.as<float>(), N, C, S, static_cast<float>(eps),
                         ws.as<float>(), backend_stream());
  download(dy, y);
}

void DeviceBackend::batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                        const Tensor& mean, const Tensor& var, double eps,
                                        bool training, Tensor& dx, Tensor& dweight, Tensor& dbias) {
  if (!all_f32({&dy, &x, &weight, &mean, &var, &dx, &dweight, &dbias}))
    return ref_.batch_norm_backward(dy, x, weight, mean, var, eps, training, dx, dweight, dbias);
  auto [N, C, S] = ncs(x);
  DeviceBuffer ddy = upload(dy), dxin = upload(x), dw = upload(weight), dm = upload(mean),
               dv = upload(var);
  DeviceBuffer ddx = output_buffer(dx), ddw = output_buffer(dweight), ddb = output_buffer(dbias);
  DeviceBuffer ws = workspace(batchnorm_workspace_floats(N, C, S));
  batchnorm_backward(ddy.as<float>(), dxin.as<float>(), dw.as<float>(), dm.as<float>(),
                     dv.as<float>(), N, C, S, static_cast<float>(eps), training, ddx.as<float>(),
                     ddw.as<float>(), ddb.as<float>(), ws.as<float>(), backend_stream());
  download(ddx, dx);
  download(ddw, dweight);
  download(ddb, dbias);
}

void DeviceBackend::layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                       Tensor& y, Tensor& mean, Tensor& rstd, double eps) {
  if (!all_f32({&x, &weight, &bias, &y, &mean, &rstd}))
    return ref_.layer_norm_forward(x, weight, bias, y, mean, rstd, eps);
  const int64_t R = x.size(0), D = x.size(1);
  DeviceBuffer dx = upload(x), dw = upload(weight), db = upload(bias);
  DeviceBuffer dy = output_buffer(y), dm = output_buffer(mean), dr = output_buffer(rstd);
  layernorm_forward(dx.as<float>(), dw.as<float>(), db.as<float>(), dy.as<float>(), dm.as<float>(),
                    dr.as<float>(), R, D, static_cast<float>(eps), backend_stream());
  download(dy, y);
  download(dm, mean);
  download(dr, rstd);
}

void DeviceBackend::layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight,
                                        const Tensor& mean, const Tensor& rstd, Tensor& dx,
                                        Tensor& dweight, Tensor& dbias) {
  if (!all_f32({&dy, &x, &weight, &mean, &rstd, &dx, &dweight, &dbias}))
    return ref_.layer_norm_backward(dy, x, weight, mean, rstd, dx, dweight, dbias);
  const int64_t R = x.size(0), D = x.size(1);
  DeviceBuffer ddy = upload(dy), dxin = upload(x), dw = upload(weight), dm = upload(mean),
               dr = upload(rstd);
  DeviceBuffer ddx = output_buffer(dx), ddw = output_buffer(dweight), ddb = output_buffer(dbias);
  DeviceBuffer ws = workspace(layernorm_workspace_floats(R, D));
  layernorm_backward(ddy.as<float>(), dxin.as<float>(), dw.as<float>(), dm.as<float>(),
                     dr.as<float>(), ddx.as<float>(), ddw.as<float>(), ddb.as<float>(), R, D,
                     ws.as<float>(), backend_stream());
  download(ddx, dx);
  download(ddw, dweight);
  download(ddb, dbias);
}

}  // namespace lethe::LETHE_KNS
