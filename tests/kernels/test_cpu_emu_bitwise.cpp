// The CPU kernels (kernels/cpu) and the CUDA kernels run on the SIMT emulator agree bit for bit
// wherever they do the same float operations in the same order, because that math is written
// once in kernels/common (LETHE_HD functions) and both are compiled by g++ for the same baseline
// ISA (no FMA contraction: neither the CPU kernels compared here nor the emulated .cu files get
// -mfma; nvcc on a real GPU may contract, which this test cannot see):
//  - optimizer updates (kernels/common/optim.h): SGD (plain, momentum + dampening, Nesterov),
//    Adam, AdamW, with and without amsgrad, over several steps; engine/optim (the CPU kernels)
//    against kernels/cuda/optim.cu;
//  - elementwise functors (kernels/common/functors.h) whose math is IEEE-exact (+ − × ÷ √,
//    selects), forward and backward, on inputs with ±0, ±inf, NaN and subnormals; GELU is left
//    out (the CPU uses the vectorised erf of kernels/cpu/vmath.h) and so are exp/log/tanh/
//    sigmoid/pow (a GPU's libm is not glibc's);
//  - pooling forwards (kernels/common/pool_window.h): max (values and argmax, NaN included),
//    average (count_include_pad) and adaptive average, whose window sums run in the same order.
// Every emulated launch runs under all three thread schedules.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "engine/optim/optimizer.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/pool.h"
#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/optim.cuh"
#include "kernels/cuda/pool.cuh"
#include "tests/support/dev_array.h"
#include "tests/support/random_values.h"

namespace lethe::kemu {
namespace {

const ScheduleChoice kSchedules[] = {
    {Schedule::InOrder, 0}, {Schedule::Reverse, 0}, {Schedule::Random, 11}};

// Same bytes (so −0 ≠ +0 and NaN payloads count).
template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

using testing::uniform;

// Uniform values with the special ones sprinkled in.
std::vector<float> with_specials(size_t n, uint32_t seed) {
  std::vector<float> v = uniform(n, -3, 3, seed);
  const float specials[] = {0.0f,
                            -0.0f,
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::denorm_min(),
                            -3e-39f,
                            1e30f};
  for (size_t i = 0; i < n; i += 13) v[i] = specials[(i / 13) % 8];
  return v;
}

Tensor tensor_of(const std::vector<float>& v) {
  return Tensor::from_vector({static_cast<int64_t>(v.size())}, v);
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("cpu = emu bitwise: SGD, Adam and AdamW steps") {
    const int64_t n = 1037;
    const int steps = 5;
    auto grad_at = [&](int s) { return uniform(n, -1, 1, 200 + s); };
    auto sgd_case = [&](const optim::SgdOptions& o, int threads) {
      for (auto sched : kSchedules) {
        ScheduleGuard guard(sched);
        std::vector<float> p0 = uniform(n, -1, 1, 61);
        Tensor param = tensor_of(p0);
        param.set_requires_grad(true);
        optim::SGD opt({param}, o);
        DevArray<float> dp(p0), dg(n), dbuf(n);
        for (int s = 0; s < steps; ++s) {
          CAPTURE(s);
          std::vector<float> g = grad_at(s);
          param.set_grad(tensor_of(g));
          opt.step();
          dg.put(g);
          sgd_step_f32(dp.p, dg.p, o.momentum == 0 ? nullptr : dbuf.p, n, o.lr, o.momentum,
                       o.dampening, o.weight_decay, o.nesterov, s == 0, threads);
          CHECK(same_bits(dp.get(), param.to_vector()));
          if (o.momentum != 0) CHECK(same_bits(dbuf.get(), opt.momentum_buffer(param).to_vector()));
        }
      }
    };
    auto adam_case = [&](const optim::AdamOptions& o, bool decoupled, int threads) {
      for (auto sched : kSchedules) {
        ScheduleGuard guard(sched);
        std::vector<float> p0 = uniform(n, -1, 1, 62);
        Tensor param = tensor_of(p0);
        param.set_requires_grad(true);
        std::unique_ptr<optim::Adam> opt =
            decoupled ? std::make_unique<optim::AdamW>(std::vector<Tensor>{param}, o)
                      : std::make_unique<optim::Adam>(std::vector<Tensor>{param}, o);
        const std::vector<float> zeros(n, 0.f);
        DevArray<float> dp(p0), dg(n), dm(zeros), dv(zeros), dvmax(zeros);
        for (int s = 0; s < steps; ++s) {
          CAPTURE(s);
          std::vector<float> g = grad_at(s);
          param.set_grad(tensor_of(g));
          opt->step();
          dg.put(g);
          adam_step_f32(dp.p, dg.p, dm.p, dv.p, o.amsgrad ? dvmax.p : nullptr, n, o.lr, o.beta1,
                        o.beta2, o.eps, o.weight_decay, decoupled, s + 1, threads);
          CHECK(same_bits(dp.get(), param.to_vector()));
          CHECK(same_bits(dm.get(), opt->state_tensor(param, "exp_avg").to_vector()));
          CHECK(same_bits(dv.get(), opt->state_tensor(param, "exp_avg_sq").to_vector()));
          if (o.amsgrad)
            CHECK(same_bits(dvmax.get(), opt->state_tensor(param, "max_exp_avg_sq").to_vector()));
        }
      }
    };
    for (int threads : {32, 64, 256}) {  // threads per block of the CUDA launch
      CAPTURE(threads);
      optim::SgdOptions plain;
      plain.lr = 0.05;
      plain.weight_decay = 0.01;
      sgd_case(plain, threads);
      optim::SgdOptions damped = plain;
      damped.momentum = 0.9;
      damped.dampening = 0.1;
      sgd_case(damped, threads);
      optim::SgdOptions nesterov;
      nesterov.lr = 0.05;
      nesterov.momentum = 0.8;
      nesterov.nesterov = true;
      nesterov.weight_decay = 5e-4;
      sgd_case(nesterov, threads);
      optim::AdamOptions adam;
      adam.lr = 1e-2;
      adam_case(adam, false, threads);  // no weight decay
      adam.weight_decay = 0.01;
      adam_case(adam, false, threads);
      adam_case(adam, true, threads);  // AdamW
      optim::AdamOptions ams = adam;
      ams.amsgrad = true;
      adam_case(ams, false, threads);
      adam_case(ams, true, threads);
    }
  }

  TEST_CASE("cpu = emu bitwise: IEEE-exact elementwise functors, forward and backward") {
    const int64_t n = 1031;
    const std::vector<float> x = with_specials(n, 71), dy = uniform(n, -2, 2, 72);
    const std::vector<float> b = with_specials(n, 73);
    struct U {
      UnaryOp op;
      UnaryParams p;
    };
    const U unaries[] = {
        {UnaryOp::Relu, {}},           {UnaryOp::Abs, {}},         {UnaryOp::Sign, {}},
        {UnaryOp::Sqrt, {}},           {UnaryOp::Neg, {}},         {UnaryOp::Square, {}},
        {UnaryOp::Clamp, {-0.5, 2.0}}, {UnaryOp::Scale, {1.7, 0}}, {UnaryOp::AddScalar, {0.3, 0}},
        {UnaryOp::Reciprocal, {}}};
    DevArray<float> dx_in(x), ddy(dy), db(b), dout(n), dy_f(n);
    for (const U& u : unaries) {
      CAPTURE(static_cast<int>(u.op));
      std::vector<float> y(n), gx(n);
      kernels::cpu::unary(u.op, u.p, x.data(), y.data(), n);
      kernels::cpu::unary_backward(u.op, u.p, x.data(), y.data(), dy.data(), gx.data(), n);
      dy_f.put(y);
      for (auto sched : kSchedules) {
        ScheduleGuard guard(sched);
        elem_unary_f32(u.op, u.p, dx_in.p, dout.p, n, 64);
        CHECK(same_bits(dout.get(), y));
        elem_unary_backward_f32(u.op, u.p, dx_in.p, dy_f.p, ddy.p, dout.p, n, 64);
        CHECK(same_bits(dout.get(), gx));
      }
    }
    const int64_t shape[] = {n}, unit[] = {1};
    for (BinaryOp op : {BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Max,
                        BinaryOp::Min}) {
      CAPTURE(static_cast<int>(op));
      std::vector<float> c(n);
      kernels::cpu::binary(op, x.data(), b.data(), c.data(), n);
      for (auto sched : kSchedules) {
        ScheduleGuard guard(sched);
        elem_binary_f32(op, dx_in.p, db.p, dout.p, shape, unit, unit, 1, 64);
        CHECK(same_bits(dout.get(), c));
      }
    }
  }

  TEST_CASE("cpu = emu bitwise: max, average and adaptive average pooling forwards") {
    const int64_t P = 3, H = 11, W = 9;
    std::vector<float> x = uniform(P * H * W, -2, 2, 81);
    x[5] = std::numeric_limits<float>::quiet_NaN();  // propagates through its windows
    x[40] = x[41];                                   // a tie: the first in row order wins
    DevArray<float> dx(x);
    struct Geo {
      int64_t k, s, p;
    };
    for (Geo g : {Geo{3, 2, 1}, Geo{2, 2, 0}, Geo{3, 1, 1}, Geo{4, 3, 2}}) {
      CAPTURE(g.k);
      CAPTURE(g.s);
      CAPTURE(g.p);
      Pool2dArgs a;
      a.kernel_h = a.kernel_w = g.k;
      a.stride_h = a.stride_w = g.s;
      a.pad_h = a.pad_w = g.p;
      const int64_t OH = (H + 2 * g.p - g.k) / g.s + 1, OW = (W + 2 * g.p - g.k) / g.s + 1;
      std::vector<float> y(P * OH * OW), ya(P * OH * OW);
      std::vector<int64_t> idx(P * OH * OW);
      kernels::cpu::max_pool2d_forward(x.data(), y.data(), idx.data(), P, H, W, OH, OW, a);
      kernels::cpu::avg_pool2d_forward(x.data(), ya.data(), P, H, W, OH, OW, a);
      DevArray<float> dy(y.size());
      DevArray<int64_t> didx(idx.size());
      for (auto sched : kSchedules) {
        ScheduleGuard guard(sched);
        max_pool2d_forward(dx.p, dy.p, didx.p, P, H, W, OH, OW, g.k, g.k, g.s, g.s, g.p, g.p,
                           nullptr, 64);
        CHECK(same_bits(dy.get(), y));
        CHECK(didx.get() == idx);
        avg_pool2d_forward(dx.p, dy.p, P, H, W, OH, OW, g.k, g.k, g.s, g.s, g.p, g.p, nullptr, 64);
        CHECK(same_bits(dy.get(), ya));
      }
    }
    for (int64_t OH : {1, 4, 7}) {
      const int64_t OW = OH + 1;
      CAPTURE(OH);
      std::vector<float> y(P * OH * OW);
      kernels::cpu::adaptive_avg_pool2d_forward(x.data(), y.data(), P, H, W, OH, OW);
      DevArray<float> dy(y.size());
      for (auto sched : kSchedules) {
        ScheduleGuard guard(sched);
        adaptive_avg_pool2d_forward(dx.p, dy.p, P, H, W, OH, OW, nullptr, 64);
        CHECK(same_bits(dy.get(), y));
      }
    }
  }
}

}  // namespace lethe::kemu
