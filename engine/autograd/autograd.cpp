#include "engine/autograd/autograd.h"

#include <chrono>
#include <unordered_map>
#include <unordered_set>

#include "engine/autograd/anomaly.h"
#include "engine/ops/ops.h"

namespace lethe {
namespace {
thread_local bool g_grad_enabled = true;
thread_local uint64_t g_nodes_run = 0;
thread_local const void* g_record_scope = nullptr;
thread_local BackwardObserver* g_backward_observer = nullptr;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

void set_record_scope(const void* scope) {
  g_record_scope = scope;
}
const void* record_scope() {
  return g_record_scope;
}
BackwardObserver* backward_observer() {
  return g_backward_observer;
}
BackwardObserverGuard::BackwardObserverGuard(BackwardObserver* o) : prev_(g_backward_observer) {
  g_backward_observer = o;
}
BackwardObserverGuard::~BackwardObserverGuard() {
  g_backward_observer = prev_;
}

uint64_t backward_nodes_run() {
  return g_nodes_run;
}

bool grad_enabled() {
  return g_grad_enabled;
}

NoGradGuard::NoGradGuard() : prev_(g_grad_enabled) {
  g_grad_enabled = false;
}
NoGradGuard::~NoGradGuard() {
  g_grad_enabled = prev_;
}
EnableGradGuard::EnableGradGuard() : prev_(g_grad_enabled) {
  g_grad_enabled = true;
}
EnableGradGuard::~EnableGradGuard() {
  g_grad_enabled = prev_;
}

bool needs_graph(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

Tensor record(Tensor out, const char* name, std::vector<Tensor> inputs, BackwardFn fn) {
  anomaly_check_forward(name, out, inputs, g_record_scope);  // every op passes here
  if (!needs_graph(inputs)) return out;
  auto node = std::make_shared<Node>();
  node->name = name;
  node->needs.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor& t = inputs[i];
    node->needs[i] = t.defined() && t.requires_grad();
    // A non-leaf input is kept as an edge only: its shape and its producer, not its data, so an
    // intermediate activation lives exactly as long as some closure saved it (a residual add
    // saves nothing, ReLU saves its output only), as in PyTorch.
    if (t.defined() && t.impl()->grad_fn) {
      auto edge = std::make_shared<TensorImpl>();
      edge->shape = t.shape();
      edge->strides = t.strides();
      edge->offset = t.offset();
      edge->dtype = t.dtype();
      edge->requires_grad = true;
      edge->grad_fn = t.impl()->grad_fn;
      t = Tensor(std::move(edge));
    }
  }
  node->inputs = std::move(inputs);
  node->backward = std::move(fn);
  node->scope = g_record_scope;
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
  return out;
}

namespace {

// acc += g, where an undefined acc counts as zero (captured gradients).
void add_into(Tensor& acc, const Tensor& g) {
  acc = acc.defined() ? ops::add(acc, g) : g;
}

void accumulate(std::unordered_map<Node*, Tensor>& grads, Node* key, const Tensor& g) {
  auto it = grads.find(key);
  if (it == grads.end()) {
    grads.emplace(key, g);
  } else {
    NoGradGuard ng;
    it->second = ops::add(it->second, g);
  }
}

// Runs the walk; when `capture` is given, gradients reaching those tensors are stored there
// and no leaf's .grad is touched. Gradients of non-leaf tensors are keyed by their producing
// node (record() keeps non-leaf inputs as storage-free edges, so several consumers of one tensor
// hold different edge objects but the same node).
void walk(const Tensor& root, const Tensor& grad_root,
          std::unordered_map<TensorImpl*, Tensor>* capture) {
  LETHE_CHECK(root.requires_grad(), "backward: the tensor does not require a gradient");
  BackwardObserver* const obs = g_backward_observer;
  const auto walk_t0 =
      obs ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  Tensor g0 = grad_root;
  if (!g0.defined()) {
    LETHE_CHECK(root.numel() == 1,
                "backward: a gradient must be given for non-scalar output of shape ",
                shape_str(root.shape()));
    g0 = Tensor::ones(root.shape(), root.dtype(), root.device());
  }
  LETHE_CHECK(g0.shape() == root.shape(), "backward: gradient shape ", shape_str(g0.shape()),
              " does not match output ", shape_str(root.shape()));

  // Reverse topological order of nodes by an iterative DFS over the input edges.
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack;
  if (root.impl()->grad_fn) {
    stack.push_back({root.impl()->grad_fn, 0});
    seen.insert(root.impl()->grad_fn.get());
  }
  while (!stack.empty()) {
    auto& [n, i] = stack.back();
    if (i < n->inputs.size()) {
      const Tensor& in = n->inputs[i++];
      const std::shared_ptr<Node>& fn = in.defined() ? in.impl()->grad_fn : nullptr;
      if (fn && !seen.count(fn.get())) {
        seen.insert(fn.get());
        stack.push_back({fn, 0});
      }
    } else {
      order.push_back(std::move(n));
      stack.pop_back();
    }
  }

  // Requested non-leaf tensors, by their node (capture mode only).
  std::unordered_map<Node*, TensorImpl*> capture_nodes;
  if (capture) {
    for (auto& [impl, g] : *capture)
      if (impl->grad_fn) capture_nodes.emplace(impl->grad_fn.get(), impl);
  }

  NoGradGuard ng;  // gradients are not themselves recorded
  std::unordered_map<Node*, Tensor> grads;
  auto deliver_leaf = [&](TensorImpl* leaf, Tensor g) {
    if (capture) {
      auto it = capture->find(leaf);
      if (it != capture->end()) add_into(it->second, g);
      return;
    }
    for (auto& h : leaf->hooks) g = h(g);
    if (!leaf->grad) {
      leaf->grad = g.clone().impl_ptr();  // own the buffer: g may alias a saved tensor
    } else {
      Tensor acc(leaf->grad);
      acc.copy_(ops::add(acc, g));
    }
  };

  if (!root.impl()->grad_fn) {
    deliver_leaf(root.impl(), g0);
    if (obs) obs->walk_done(seconds_since(walk_t0));
    return;
  }
  grads.emplace(root.impl()->grad_fn.get(), g0);
  for (size_t k = order.size(); k-- > 0;) {
    std::shared_ptr<Node> node = std::move(order[k]);
    auto it = grads.find(node.get());
    if (it == grads.end()) continue;  // no gradient reached this node
    Tensor gout = std::move(it->second);
    grads.erase(it);
    if (capture) {
      auto cn = capture_nodes.find(node.get());
      if (cn != capture_nodes.end()) add_into((*capture)[cn->second], gout);
    }
    // A node an earlier backward already ran and freed: as before edges were introduced, the
    // gradient stops here (the graph is used once).
    if (!node->backward) continue;
    const auto node_t0 = obs ? std::chrono::steady_clock::now() : walk_t0;
    std::vector<Tensor> gin = node->backward(gout, node->needs);
    ++g_nodes_run;
    anomaly_check_backward(node->name, gin, gout, node->scope);
    for (size_t i = 0; i < node->inputs.size(); ++i) {
      if (!node->needs[i] || i >= gin.size() || !gin[i].defined()) continue;
      const Tensor& in = node->inputs[i];
      LETHE_CHECK(gin[i].shape() == in.shape(), "backward of ", node->name, ": gradient shape ",
                  shape_str(gin[i].shape()), " for input ", i, " of shape ", shape_str(in.shape()));
      if (in.impl()->grad_fn)
        accumulate(grads, in.impl()->grad_fn.get(), gin[i]);
      else
        deliver_leaf(in.impl(), gin[i]);
    }
    if (obs) obs->node_done(*node, gout, seconds_since(node_t0));
    // The graph is used once: free saved tensors as soon as possible.
    if (!capture) {
      node->backward = nullptr;
      node->inputs.clear();
    }
  }
  if (obs) obs->walk_done(seconds_since(walk_t0));
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& grad_root) {
  walk(root, grad_root, nullptr);
}

std::vector<Tensor> grad(const Tensor& output, const std::vector<Tensor>& inputs) {
  std::unordered_map<TensorImpl*, Tensor> cap;
  for (const Tensor& t : inputs) cap.emplace(t.impl(), Tensor());
  walk(output, Tensor(), &cap);
  std::vector<Tensor> out;
  for (const Tensor& t : inputs) {
    Tensor g = cap[t.impl()];
    out.push_back(g.defined() ? g : Tensor::zeros(t.shape(), t.dtype(), t.device()));
  }
  return out;
}

}  // namespace lethe
