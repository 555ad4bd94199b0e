// LayerProfiler: forward timing by a stack of open module calls, backward attribution by the
// scope autograd copies into every node, analytic FLOP and byte models per layer type / per op.
#include "engine/profile/layer_profile.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "engine/core/allocator.h"
#include "engine/io/run_dir.h"
#include "engine/nn/layers.h"

namespace lethe::profile {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double numel_d(const Tensor& t) {
  return t.defined() ? static_cast<double>(t.numel()) : 0.0;
}
double bytes_d(const Tensor& t) {
  return t.defined() ? static_cast<double>(t.nbytes()) : 0.0;
}

bool one_of(const char* name, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (std::strcmp(name, n) == 0) return true;
  return false;
}

}  // namespace

bool is_leaf_layer(const nn::Module& m) {
  // Attention runs its qkv/proj weights in one op, so it is a leaf although it has children.
  return !m.has_children() || dynamic_cast<const nn::MultiHeadSelfAttention*>(&m);
}

Cost& Cost::operator+=(const Cost& o) {
  fwd_s += o.fwd_s;
  bwd_s += o.bwd_s;
  fwd_flops += o.fwd_flops;
  bwd_flops += o.bwd_flops;
  fwd_bytes += o.fwd_bytes;
  bwd_bytes += o.bwd_bytes;
  act_bytes += o.act_bytes;
  opt_bytes += o.opt_bytes;
  bwd_nodes += o.bwd_nodes;
  return *this;
}

nlohmann::json Cost::to_json() const {
  return {{"fwd_s", fwd_s},
          {"bwd_s", bwd_s},
          {"fwd_flops", fwd_flops},
          {"bwd_flops", bwd_flops},
          {"fwd_bytes", fwd_bytes},
          {"bwd_bytes", bwd_bytes},
          {"activation_bytes", act_bytes},
          {"optimizer_state_bytes", opt_bytes},
          {"bwd_nodes", bwd_nodes}};
}

double conv2d_flops(int64_t n, int64_t cin, int64_t cout, int64_t hout, int64_t wout, int64_t k,
                    bool bias) {
  double outputs = static_cast<double>(n) * cout * hout * wout;
  return 2.0 * outputs * cin * k * k + (bias ? outputs : 0.0);
}

double linear_flops(int64_t rows, int64_t in, int64_t out, bool bias) {
  double outputs = static_cast<double>(rows) * out;
  return 2.0 * outputs * in + (bias ? outputs : 0.0);
}

double forward_flops(const nn::Module& m, const Tensor& in, const Tensor& out) {
  if (!in.defined() || !out.defined()) return 0;
  const double n_in = numel_d(in), n_out = numel_d(out);
  if (auto* c = dynamic_cast<const nn::Conv2d*>(&m))
    return conv2d_flops(out.size(0), c->in_channels, c->out_channels, out.size(2), out.size(3),
                        c->kernel_size, c->bias.defined());
  if (auto* l = dynamic_cast<const nn::Linear*>(&m))
    return linear_flops(out.numel() / l->out_features, l->in_features, l->out_features,
                        l->bias.defined());
  // Normalization: statistics (mean 1, variance 2 per element) + normalize and affine (2).
  if (dynamic_cast<const nn::BatchNorm2d*>(&m)) return (m.is_training() ? 5.0 : 2.0) * n_in;
  if (dynamic_cast<const nn::LayerNorm*>(&m)) return 5.0 * n_in;
  if (dynamic_cast<const nn::ReLU*>(&m)) return n_in;
  if (dynamic_cast<const nn::GELU*>(&m)) return 8.0 * n_in;  // erf by a short polynomial
  if (dynamic_cast<const nn::Dropout*>(&m)) return m.is_training() ? n_in : 0.0;
  if (auto* p = dynamic_cast<const nn::MaxPool2d*>(&m))
    return n_out * p->kernel_size * p->kernel_size;
  if (auto* p = dynamic_cast<const nn::AvgPool2d*>(&m))
    return n_out * p->kernel_size * p->kernel_size;
  if (dynamic_cast<const nn::AdaptiveAvgPool2d*>(&m)) return n_in;
  if (auto* a = dynamic_cast<const nn::MultiHeadSelfAttention*>(&m)) {
    // x [B, N, D]: qkv projection, scores Q·Kᵀ, softmax (5 per score), scores·V, output proj.
    const int64_t d = a->dim, tokens = in.dim() >= 2 ? in.size(-2) : 1;
    const int64_t rows = in.numel() / d, b = rows / std::max<int64_t>(tokens, 1);
    const double scores = static_cast<double>(b) * a->heads * tokens * tokens;
    return linear_flops(rows, d, 3 * d, a->qkv->bias.defined()) + 2.0 * scores * (d / a->heads) +
           5.0 * scores + 2.0 * scores * (d / a->heads) +
           linear_flops(rows, d, d, a->proj->bias.defined());
  }
  return 0;  // Flatten, Identity, composite blocks (their own residual adds are not counted)
}

double backward_flops(const Node& n, const Tensor& g) {
  auto need = [&](size_t i) { return i < n.needs.size() && n.needs[i]; };
  const double go = numel_d(g);
  if (one_of(n.name, {"conv2d", "linear"})) {
    const Tensor& w = n.inputs[1];
    // Per output element: Cin·k·k (conv) or in (linear) multiply-adds for dx and for dW.
    const double k = static_cast<double>(w.numel()) / static_cast<double>(w.size(0));
    return (need(0) ? 2.0 * go * k : 0.0) + (need(1) ? 2.0 * go * k : 0.0) + (need(2) ? go : 0.0);
  }
  if (std::strcmp(n.name, "matmul") == 0) {
    const double k = static_cast<double>(n.inputs[0].size(-1));
    return (need(0) ? 2.0 * go * k : 0.0) + (need(1) ? 2.0 * go * k : 0.0);
  }
  if (one_of(n.name, {"batch_norm", "layer_norm"})) {
    const double x = numel_d(n.inputs[0]);
    return (need(0) ? 8.0 * x : 0.0) + (need(1) ? 2.0 * x : 0.0) + (need(2) ? x : 0.0);
  }
  if (one_of(n.name, {"reshape", "permute", "slice", "concat", "contiguous", "index_select"}))
    return 0;  // data movement only
  // Elementwise ops, activations, pooling, reductions, the loss: one per gradient element.
  double f = 0;
  for (size_t i = 0; i < n.inputs.size(); ++i)
    if (need(i)) f += numel_d(n.inputs[i]);
  return f;
}

LayerProfiler::LayerProfiler(nn::Module& model) : named_(model.named_modules()) {
  for (size_t i = 0; i < named_.size(); ++i) {
    const auto& [name, m] = named_[i];
    index_[m] = static_cast<int>(i);
    ModuleCost c;
    c.name = name;
    c.type = m->type_name();
    c.depth = name.empty() ? 0 : 1 + static_cast<int>(std::count(name.begin(), name.end(), '.'));
    c.leaf = is_leaf_layer(*m);
    mods_.push_back(c);
    int parent = -1;
    if (!name.empty()) {
      size_t dot = name.rfind('.');
      std::string pname = dot == std::string::npos ? "" : name.substr(0, dot);
      for (size_t j = 0; j < i; ++j)
        if (named_[j].first == pname) parent = static_cast<int>(j);
    }
    parent_.push_back(parent);
  }
  for (const auto& [n, p] : model.named_parameters())
    param_storage_.insert(p.impl()->storage.get());
  for (size_t i = 0; i < named_.size(); ++i)
    for (const auto& [pname, p] : named_[i].second->named_parameters())
      if (pname.find('.') == std::string::npos) param_owner_[p.impl()->storage.get()] = int(i);
}

LayerProfiler::~LayerProfiler() {
  if (running()) stop();
}

void LayerProfiler::start() {
  LETHE_CHECK(!running(), "profiler: start() while already running");
  if (!counted_trainable_) {
    for (size_t i = 0; i < named_.size(); ++i) {
      ModuleCost& c = mods_[i];
      c.params = c.trainable = c.params_total = c.trainable_total = 0;
      nn::Module* m = named_[i].second;
      for (const auto& [pname, p] : m->named_parameters()) {
        c.params_total += p.numel();
        if (p.requires_grad()) c.trainable_total += p.numel();
        if (pname.find('.') == std::string::npos) {  // own tensor, not a child's
          c.params += p.numel();
          if (p.requires_grad()) c.trainable += p.numel();
        }
      }
    }
    counted_trainable_ = true;
  }
  stack_.clear();
  prev_scope_ = record_scope();
  fwd_guard_.emplace(this);
  bwd_guard_.emplace(this);
  step_guard_.emplace(this);
  Allocator::instance().reset_peak();
  t0_ = Clock::now();
}

void LayerProfiler::stop() {
  LETHE_CHECK(running(), "profiler: stop() without start()");
  wall_s_ += seconds_since(t0_);
  peak_ = std::max(peak_, Allocator::instance().stats().peak_bytes);
  ++runs_;
  step_guard_.reset();
  bwd_guard_.reset();
  fwd_guard_.reset();
  set_record_scope(prev_scope_);
  stack_.clear();
}

void LayerProfiler::before(const nn::Module& m, const Tensor&) {
  auto it = index_.find(&m);
  if (it == index_.end()) return;  // not part of the profiled model: time stays with the caller
  stack_.push_back({it->second, Clock::now(), 0.0});
  set_record_scope(&m);
}

void LayerProfiler::after(const nn::Module& m, const Tensor& in, const Tensor& out) {
  auto it = index_.find(&m);
  if (it == index_.end()) return;
  // Frames left open by a forward that threw are dropped up to this module's own frame.
  while (!stack_.empty() && stack_.back().index != it->second) stack_.pop_back();
  if (stack_.empty()) return;
  Frame f = stack_.back();
  stack_.pop_back();
  const double elapsed = seconds_since(f.t0);
  ModuleCost& c = mods_[f.index];
  ++c.calls;
  c.self.fwd_s += elapsed - f.child_s;
  if (c.leaf) {
    c.self.fwd_flops += forward_flops(m, in, out);
    double param_bytes = 0;
    for (const auto& [n, p] : m.named_parameters()) param_bytes += bytes_d(p);
    c.self.fwd_bytes += bytes_d(in) + bytes_d(out) + param_bytes;
  }
  if (!stack_.empty()) {
    stack_.back().child_s += elapsed;
    set_record_scope(named_[stack_.back().index].second);
  } else {
    set_record_scope(prev_scope_);
  }
}

void LayerProfiler::node_done(const Node& node, const Tensor& grad_out, double seconds) {
  auto it = index_.find(node.scope);
  Cost& c = it == index_.end() ? outside_ : mods_[it->second].self;
  c.bwd_s += seconds;
  c.bwd_nodes += 1;
  c.bwd_flops += backward_flops(node, grad_out);
  double bytes = bytes_d(grad_out), act = 0;
  for (size_t i = 0; i < node.inputs.size(); ++i) {
    const Tensor& t = node.inputs[i];
    if (!t.defined()) continue;
    bytes += bytes_d(t);                     // read (saved activation or weight)
    if (node.needs[i]) bytes += bytes_d(t);  // its gradient, written
    bool param = param_storage_.count(t.impl()->storage.get()) > 0;
    bool dup = false;  // the same tensor twice in one node (x·x) is kept once
    for (size_t j = 0; j < i; ++j) dup = dup || node.inputs[j].impl() == t.impl();
    if (!param && !dup) act += bytes_d(t);
  }
  c.bwd_bytes += bytes;
  c.act_bytes += act;
}

void LayerProfiler::optimizer_step(const optim::Optimizer& opt) {
  for (size_t i = 0; i < opt.params().size(); ++i) {
    size_t& b = opt_bytes_[opt.params()[i].impl()->storage.get()];
    b = std::max(b, opt.state_bytes(i));
  }
}

void LayerProfiler::walk_done(double seconds) {
  backward_s_ += seconds;
  ++walks_;
}

ProfileReport LayerProfiler::report() const {
  ProfileReport r;
  r.modules = mods_;
  for (const auto& [storage, bytes] : opt_bytes_)
    if (auto it = param_owner_.find(storage); it != param_owner_.end())
      r.modules[it->second].self.opt_bytes += static_cast<double>(bytes);
  for (auto& m : r.modules) m.total = m.self;
  // Children come after their parent in named_modules() order: fold totals upward in reverse.
  for (size_t i = r.modules.size(); i-- > 0;)
    if (parent_[i] >= 0) r.modules[parent_[i]].total += r.modules[i].total;
  r.outside = outside_;
  r.wall_s = wall_s_;
  r.backward_s = backward_s_;
  r.walks = walks_;
  r.runs = runs_;
  r.peak_bytes = peak_;
  if (!r.modules.empty()) {
    r.forward_s = r.modules[0].total.fwd_s;
    r.params = r.modules[0].params_total;
    r.trainable = r.modules[0].trainable_total;
  }
  return r;
}

double ProfileReport::share(const ModuleCost& m) const {
  return wall_s > 0 ? (m.total.fwd_s + m.total.bwd_s) / wall_s : 0.0;
}

nlohmann::json ProfileReport::to_json() const {
  nlohmann::json mods = nlohmann::json::array();
  for (const ModuleCost& m : modules)
    mods.push_back({{"name", m.name},
                    {"type", m.type},
                    {"depth", m.depth},
                    {"leaf", m.leaf},
                    {"calls", m.calls},
                    {"params", m.params_total},
                    {"trainable_params", m.trainable_total},
                    {"own_params", m.params},
                    {"own_trainable_params", m.trainable},
                    {"self", m.self.to_json()},
                    {"total", m.total.to_json()},
                    {"share", share(m)}});
  return {{"wall_s", wall_s},
          {"forward_s", forward_s},
          {"backward_s", backward_s},
          {"unattributed_s", unattributed_s()},
          {"backward_walks", walks},
          {"runs", runs},
          {"peak_bytes", peak_bytes},
          {"params", params},
          {"trainable_params", trainable},
          {"outside_modules", outside.to_json()},
          {"modules", mods}};
}

std::string ProfileReport::to_csv() const {
  std::ostringstream os;
  os << "name,type,depth,calls,params,trainable_params,fwd_ms,fwd_self_ms,bwd_ms,bwd_self_ms,"
        "fwd_gflop,bwd_gflop,fwd_mb,bwd_mb,activation_mb,bwd_nodes,share_pct,opt_state_mb\n";
  auto row = [&](const std::string& name, const std::string& type, int depth, int64_t calls,
                 int64_t params, int64_t trainable, const Cost& self, const Cost& total,
                 double sh) {
    char buf[512];
    std::snprintf(
        buf, sizeof buf,
        ",%d,%lld,%lld,%lld,%.4f,%.4f,%.4f,%.4f,%.6f,%.6f,%.4f,%.4f,%.4f,%lld,%.3f,%.4f\n", depth,
        static_cast<long long>(calls), static_cast<long long>(params),
        static_cast<long long>(trainable), total.fwd_s * 1e3, self.fwd_s * 1e3, total.bwd_s * 1e3,
        self.bwd_s * 1e3, total.fwd_flops * 1e-9, total.bwd_flops * 1e-9, total.fwd_bytes * 1e-6,
        total.bwd_bytes * 1e-6, total.act_bytes * 1e-6, static_cast<long long>(total.bwd_nodes),
        sh * 100, total.opt_bytes * 1e-6);
    os << io::csv_field(name) << ',' << io::csv_field(type) << buf;
  };
  for (const ModuleCost& m : modules)
    row(m.name, m.type, m.depth, m.calls, m.params_total, m.trainable_total, m.self, m.total,
        share(m));
  row("(outside modules)", "", 0, 0, 0, 0, outside, outside,
      wall_s > 0 ? outside.bwd_s / wall_s : 0.0);
  return os.str();
}

std::string ProfileReport::table(int max_depth) const {
  std::ostringstream os;
  char buf[512];
  std::snprintf(buf, sizeof buf, "%-34s %-22s %10s %9s %9s %9s %9s %9s %9s %9s %6s\n", "module",
                "type", "params", "fwd ms", "self ms", "bwd ms", "GFLOP", "MB moved", "act MB",
                "opt MB", "%");
  os << buf;
  auto row = [&](const std::string& label, const std::string& type, int64_t params,
                 int64_t trainable, const Cost& self, const Cost& total, double sh) {
    std::string p = std::to_string(params);
    if (trainable != params) p = std::to_string(trainable) + "/" + p;
    std::snprintf(buf, sizeof buf,
                  "%-34s %-22s %10s %9.2f %9.2f %9.2f %9.3f %9.1f %9.2f %9.3f %6.1f\n",
                  label.c_str(), type.c_str(), p.c_str(), total.fwd_s * 1e3, self.fwd_s * 1e3,
                  total.bwd_s * 1e3, (total.fwd_flops + total.bwd_flops) * 1e-9,
                  (total.fwd_bytes + total.bwd_bytes) * 1e-6, total.act_bytes * 1e-6,
                  total.opt_bytes * 1e-6, sh * 100);
    os << buf;
  };
  for (const ModuleCost& m : modules) {
    if (max_depth >= 0 && m.depth > max_depth) continue;
    std::string label = m.name.empty() ? "(model)" : std::string(2 * (m.depth - 1), ' ') + m.name;
    row(label, m.type, m.params_total, m.trainable_total, m.self, m.total, share(m));
  }
  row("(outside modules)", "loss, stem ops", 0, 0, outside, outside,
      wall_s > 0 ? outside.bwd_s / wall_s : 0.0);
  std::snprintf(
      buf, sizeof buf,
      "wall %.3f s: forward %.3f s, backward %.3f s (%lld walks), other %.3f s "
      "(forward ops outside modules, optimizer); peak %.1f MB; params %lld (%lld trainable)\n",
      wall_s, forward_s, backward_s, static_cast<long long>(walks), unattributed_s(),
      static_cast<double>(peak_bytes) * 1e-6, static_cast<long long>(params),
      static_cast<long long>(trainable));
  os << buf;
  return os.str();
}

}  // namespace lethe::profile
