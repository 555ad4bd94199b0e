#include "eval/layer_effect.h"

#include <cmath>
#include <cstdio>
#include <map>

#include "engine/io/run_dir.h"
#include "eval/norm_stats.h"

namespace lethe::eval {
namespace {

// Own tensors of each module (parameters or buffers), grouped by the module's dotted path.
std::map<std::string, std::vector<std::pair<std::string, Tensor>>> by_module(
    const nn::NamedTensorList& list) {
  std::map<std::string, std::vector<std::pair<std::string, Tensor>>> out;
  for (const auto& [name, t] : list) {
    const size_t dot = name.rfind('.');
    out[dot == std::string::npos ? "" : name.substr(0, dot)].push_back({name, t});
  }
  return out;
}

std::vector<Tensor> tensors_of(const std::vector<std::pair<std::string, Tensor>>& named) {
  std::vector<Tensor> t;
  for (const auto& [n, x] : named) t.push_back(x);
  return t;
}

// The same tensors (by name) of another model, checked for shape: one line naming the run.
std::vector<Tensor> matching(const std::vector<std::pair<std::string, Tensor>>& named,
                             const std::map<std::string, Tensor>& other, const std::string& dir) {
  std::vector<Tensor> t;
  for (const auto& [n, x] : named) {
    auto it = other.find(n);
    LETHE_CHECK(it != other.end(), dir, ": its model has no tensor ", n,
                " (a different architecture)");
    LETHE_CHECK(it->second.shape() == x.shape(), dir, ": tensor ", n, " has shape ",
                shape_str(it->second.shape()), ", the evaluated model's is ", shape_str(x.shape()));
    t.push_back(it->second);
  }
  return t;
}

std::map<std::string, Tensor> state_map(const models::Classifier& m) {
  std::map<std::string, Tensor> s;
  for (const auto& [n, t] : m.state_dict()) s[n] = t;
  return s;
}

std::map<std::string, double> gaps(const NormStats& st) {
  std::map<std::string, double> g;
  for (const NormLayerStats& l : st.layers) g[l.name] = fairness_gaps(l).gap;
  return g;
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

}  // namespace

double relative_change(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  LETHE_CHECK(a.size() == b.size(), "relative_change: ", a.size(), " vs ", b.size(), " tensors");
  double diff = 0, base = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    // Integer buffers (num_batches_tracked) count as float64 too.
    Tensor x = a[i].cpu().to(DType::F64), y = b[i].cpu().to(DType::F64);  // fresh, contiguous
    const double* px = x.data<double>();
    const double* py = y.data<double>();
    for (int64_t k = 0; k < x.numel(); ++k) {
      diff += (px[k] - py[k]) * (px[k] - py[k]);
      base += py[k] * py[k];
    }
  }
  if (base == 0) return diff == 0 ? 0.0 : INFINITY;
  return std::sqrt(diff / base);
}

nlohmann::json layer_effect(const LayerEffectInputs& in, const std::string& out_dir) {
  LETHE_CHECK(in.run && in.original, "layer_effect: the run and the original are required");
  const auto orig_state = state_map(*in.original);
  std::map<std::string, Tensor> ref_state;
  if (in.reference) ref_state = state_map(*in.reference);
  const auto params = by_module(in.run->named_parameters());
  // Buffers: the running statistics. BatchNorm's step counter (num_batches_tracked) is left out:
  // a count of steps taken, it would swamp the statistics' change (any fine-tune adds tens of %).
  nn::NamedTensorList stats;
  for (const auto& [n, t] : in.run->named_buffers())
    if (!n.ends_with("num_batches_tracked")) stats.push_back({n, t});
  const auto buffers = by_module(stats);

  auto collect = [&in](models::Classifier& m) {
    return collect_norm_stats(m, *in.data, in.rows, *in.norm, in.split, 256, nullptr);
  };
  const std::map<std::string, double> g_run = gaps(in.run_stats ? *in.run_stats : collect(*in.run)),
                                      g_orig = gaps(collect(*in.original));
  std::map<std::string, double> g_ref;
  if (in.reference) g_ref = gaps(collect(*in.reference));

  nlohmann::json layers = nlohmann::json::array();
  std::string csv =
      "layer,type,params,rel_change,rel_change_reference,buffer_rel_change,"
      "buffer_rel_change_reference,fairness_gap_original,d_fairness_gap,d_fairness_gap_reference\n";
  auto cell = [](double v) { return std::isnan(v) ? std::string() : fmt(v); };  // NaN: none
  auto pos = [](double v) { return v < 0 ? std::string() : fmt(v); };           // < 0: none
  // Every module that owns parameters or buffers, in named_modules() order.
  for (const auto& [name, mod] : in.run->named_modules()) {
    auto p = params.find(name);
    auto b = buffers.find(name);
    if (p == params.end() && b == buffers.end()) continue;
    nlohmann::json row = {{"layer", name}, {"type", mod->type_name()}};
    int64_t count = 0;
    double rc = -1, rc_ref = -1, brc = -1, brc_ref = -1;
    if (p != params.end()) {
      const std::vector<Tensor> mine = tensors_of(p->second);
      for (const Tensor& t : mine) count += t.numel();
      rc = relative_change(mine, matching(p->second, orig_state, in.against_dir));
      if (in.reference)
        rc_ref = relative_change(matching(p->second, ref_state, in.reference_dir),
                                 matching(p->second, orig_state, in.against_dir));
    }
    if (b != buffers.end()) {
      brc = relative_change(tensors_of(b->second), matching(b->second, orig_state, in.against_dir));
      if (in.reference)
        brc_ref = relative_change(matching(b->second, ref_state, in.reference_dir),
                                  matching(b->second, orig_state, in.against_dir));
    }
    row["params"] = count;
    if (rc >= 0) row["rel_change"] = rc;
    if (rc_ref >= 0) row["rel_change_reference"] = rc_ref;
    if (brc >= 0) row["buffer_rel_change"] = brc;
    if (brc_ref >= 0) row["buffer_rel_change_reference"] = brc_ref;
    double g0 = NAN, dg = NAN, dg_ref = NAN;
    if (auto g = g_run.find(name); g != g_run.end() && g_orig.count(name)) {
      g0 = g_orig.at(name);
      dg = g->second - g0;
      row["fairness_gap"] = g->second;
      row["fairness_gap_original"] = g0;
      row["d_fairness_gap"] = dg;
      if (g_ref.count(name)) {
        dg_ref = g_ref.at(name) - g0;
        row["fairness_gap_reference"] = g_ref.at(name);
        row["d_fairness_gap_reference"] = dg_ref;
      }
    }
    layers.push_back(row);
    csv += name + "," + mod->type_name() + "," + std::to_string(count) + "," + pos(rc) + "," +
           pos(rc_ref) + "," + pos(brc) + "," + pos(brc_ref) + "," + cell(g0) + "," + cell(dg) +
           "," + cell(dg_ref) + "\n";
  }
  io::write_text_atomic(out_dir + "/layer_effect.csv", csv);
  return {{"against", in.against_dir},
          {"reference", in.reference ? nlohmann::json(in.reference_dir) : nlohmann::json()},
          {"split", in.split},
          {"definition",
           "rel_change = |θ_run − θ_original|₂ / |θ_original|₂ over the layer's own parameters "
           "(buffer_rel_change: its buffers); d_fairness_gap = the layer's fairness gap minus the "
           "original's, on the split's rows; *_reference: the same for the reference model"},
          {"layers", layers}};
}

}  // namespace lethe::eval
