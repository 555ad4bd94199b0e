// Normalization statistics per layer, class and channel, and the fairness gaps (norm_stats.h).
#include "eval/norm_stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

#include "data/loader.h"
#include "data/normalization.h"
#include "engine/autograd/autograd.h"
#include "engine/io/run_dir.h"
#include "engine/nn/layers.h"
#include "engine/ops/ops.h"

namespace lethe::eval {

void Moments::merge(const Moments& o) {
  if (o.n == 0) return;
  if (n == 0) {
    *this = o;
    return;
  }
  double na = static_cast<double>(n), nb = static_cast<double>(o.n), nt = na + nb;
  double delta = o.mean - mean;
  mean += delta * (nb / nt);
  m2 += o.m2 + delta * delta * (na * nb / nt);
  n += o.n;
}

double Moments::stddev() const {
  return std::sqrt(var());
}

const char* quantity_name(NormQuantity q) {
  switch (q) {
    case NormQuantity::Input:
      return "input";
    case NormQuantity::Normalized:
      return "normalized";
    case NormQuantity::Output:
      return "output";
  }
  return "?";
}

namespace {

// Element (i, p, k) of a contiguous buffer sits at i·sN + p·sP + k·sK: sample i, position or
// token p, channel k.
struct Layout {
  int64_t N, P, K, sN, sP, sK;
};

constexpr int64_t kBlock = 16;  // channels per task when channels are contiguous (LN)
// Below this many values a parallel region costs more than it saves (much more on a loaded
// machine, where a descheduled thread stalls the region).
constexpr int64_t kParallelMin = int64_t{1} << 20;

// One batch into L: per class and channel, exact two-pass moments of the batch's values (double),
// then merged into the totals. xhat(i, p, k, x) gives the normalized activation of x.
template <class XHat>
void accumulate(NormLayerStats& L, const float* x, const float* y, const Layout& lay,
                const std::vector<std::vector<int64_t>>& rows, XHat xhat) {
  const int64_t KB = lay.sK == 1 ? kBlock : 1;
  const int64_t blocks = (lay.K + KB - 1) / KB;
  const int64_t C = static_cast<int64_t>(rows.size());
  const bool parallel = lay.N * lay.P * lay.K >= kParallelMin;
#pragma omp parallel for schedule(dynamic) if (parallel)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t k0 = b * KB, k1 = std::min(lay.K, k0 + KB), nk = k1 - k0;
    double sum[kNormQuantities][kBlock], dev[kNormQuantities][kBlock];
    for (int64_t c = 0; c < C; ++c) {
      const std::vector<int64_t>& r = rows[c];
      if (r.empty()) continue;
      auto visit = [&](auto&& f) {
        for (int64_t i : r)
          for (int64_t p = 0; p < lay.P; ++p) {
            const int64_t base = i * lay.sN + p * lay.sP;
            for (int64_t j = 0; j < nk; ++j) {
              const int64_t k = k0 + j, at = base + k * lay.sK;
              const double v = x[at];
              f(j, v, xhat(i, p, k, v), static_cast<double>(y[at]));
            }
          }
      };
      for (int q = 0; q < kNormQuantities; ++q) {
        std::fill(sum[q], sum[q] + nk, 0.0);
        std::fill(dev[q], dev[q] + nk, 0.0);
      }
      visit([&](int64_t j, double a, double h, double o) {
        sum[0][j] += a;
        sum[1][j] += h;
        sum[2][j] += o;
      });
      const int64_t n = static_cast<int64_t>(r.size()) * lay.P;
      const double inv_n = 1.0 / static_cast<double>(n);
      double mean[kNormQuantities][kBlock];
      for (int q = 0; q < kNormQuantities; ++q)
        for (int64_t j = 0; j < nk; ++j) mean[q][j] = sum[q][j] * inv_n;
      visit([&](int64_t j, double a, double h, double o) {
        dev[0][j] += (a - mean[0][j]) * (a - mean[0][j]);
        dev[1][j] += (h - mean[1][j]) * (h - mean[1][j]);
        dev[2][j] += (o - mean[2][j]) * (o - mean[2][j]);
      });
      for (int q = 0; q < kNormQuantities; ++q)
        for (int64_t j = 0; j < nk; ++j)
          L.m[q][c * L.channels + k0 + j].merge(Moments{n, mean[q][j], dev[q][j]});
    }
  }
}

// A contiguous f32 copy when needed (kernels may hand out views).
Tensor contiguous_f32(const Tensor& t) {
  Tensor c = t.dtype() == DType::F32 ? t : t.to(DType::F32);
  return c.is_contiguous() ? c : c.clone();
}

}  // namespace

NormStatsCollector::NormStatsCollector(nn::Module& model, int64_t num_classes)
    : num_classes_(num_classes), samples_(static_cast<size_t>(num_classes), 0) {
  LETHE_CHECK(num_classes > 0, "norm stats: need at least one class, got ", num_classes);
  for (auto& [name, m] : model.named_modules()) names_[m] = name;
}

void NormStatsCollector::set_labels(std::vector<int64_t> labels) {
  for (int64_t y : labels)
    LETHE_CHECK(y >= 0 && y < num_classes_, "norm stats: label ", y, " outside [0, ", num_classes_,
                ")");
  for (int64_t y : labels) ++samples_[y];
  labels_ = std::move(labels);
}

NormLayerStats& NormStatsCollector::layer_for(const nn::Module& m, const std::string& type,
                                              int64_t channels) {
  auto it = index_.find(&m);
  if (it != index_.end()) return layers_[it->second];
  NormLayerStats L;
  const std::string& name = names_.at(&m);
  L.name = name.empty() ? type : name;
  L.type = type;
  L.channels = channels;
  L.num_classes = num_classes_;
  for (auto& v : L.m) v.assign(static_cast<size_t>(num_classes_ * channels), Moments{});
  index_[&m] = layers_.size();
  layers_.push_back(std::move(L));
  return layers_.back();
}

void NormStatsCollector::after(const nn::Module& m, const Tensor& in, const Tensor& out) {
  const auto* bn = dynamic_cast<const nn::BatchNorm2d*>(&m);
  const auto* ln = dynamic_cast<const nn::LayerNorm*>(&m);
  if ((!bn && !ln) || !names_.count(&m)) return;
  const std::string type = bn ? "BatchNorm2d" : "LayerNorm";
  const std::string& name = names_.at(&m);
  LETHE_CHECK(in.dim() >= 2 && out.shape() == in.shape(), "norm stats: ", type, " '", name,
              "' maps ", shape_str(in.shape()), " to ", shape_str(out.shape()));
  LETHE_CHECK(in.size(0) == static_cast<int64_t>(labels_.size()), "norm stats: ", type, " '", name,
              "' sees a batch of ", in.size(0), " rows but ", labels_.size(), " labels were set");
  std::vector<std::vector<int64_t>> rows(static_cast<size_t>(num_classes_));
  for (size_t i = 0; i < labels_.size(); ++i) rows[labels_[i]].push_back(static_cast<int64_t>(i));

  Tensor xc = contiguous_f32(in), yc = contiguous_f32(out);
  const float* x = xc.data<float>();
  const float* y = yc.data<float>();
  const Shape& s = in.shape();
  const int64_t N = s[0];
  if (bn) {
    // Eval mode normalizes with the running statistics; in training mode BN would use the
    // batch's, which is not what these statistics describe.
    LETHE_CHECK(!bn->is_training(), "norm stats: BatchNorm2d '", name,
                "' is in training mode; put the model in eval mode");
    const int64_t K = s[1], P = in.numel() / std::max<int64_t>(1, N * K);
    NormLayerStats& L = layer_for(m, type, K);
    std::vector<double> mu(K), inv(K);
    std::vector<float> rm = bn->running_mean.to_vector(), rv = bn->running_var.to_vector();
    for (int64_t k = 0; k < K; ++k) {
      mu[k] = rm[k];
      inv[k] = 1.0 / std::sqrt(static_cast<double>(rv[k]) + bn->eps);
    }
    accumulate(L, x, y, Layout{N, P, K, K * P, 1, P}, rows,
               [&](int64_t, int64_t, int64_t k, double v) { return (v - mu[k]) * inv[k]; });
  } else {
    const int64_t K = s.back(), P = in.numel() / std::max<int64_t>(1, N * K);
    LETHE_CHECK(K == ln->normalized_dim, "norm stats: LayerNorm '", name, "' input ", shape_str(s),
                " does not end in ", ln->normalized_dim);
    NormLayerStats& L = layer_for(m, type, K);
    // Each token's own mean and biased variance over the normalized dimension, as LN uses.
    const int64_t T = N * P;
    std::vector<double> mu(T), rstd(T);
#pragma omp parallel for if (T * K >= kParallelMin)
    for (int64_t t = 0; t < T; ++t) {
      const float* row = x + t * K;
      double sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += row[k];
      const double mean = sum / static_cast<double>(K);
      double dev = 0;
      for (int64_t k = 0; k < K; ++k) dev += (row[k] - mean) * (row[k] - mean);
      mu[t] = mean;
      rstd[t] = 1.0 / std::sqrt(dev / static_cast<double>(K) + ln->eps);
    }
    accumulate(L, x, y, Layout{N, P, K, P * K, K, 1}, rows,
               [&](int64_t i, int64_t p, int64_t, double v) {
                 const int64_t t = i * P + p;
                 return (v - mu[t]) * rstd[t];
               });
  }
}

void NormStatsCollector::run(models::Classifier& model, const Tensor& x,
                             const std::vector<int64_t>& labels) {
  LETHE_CHECK(x.dim() >= 1 && x.size(0) == static_cast<int64_t>(labels.size()),
              "norm stats: batch ", shape_str(x.shape()), " has ", labels.size(), " labels");
  set_labels(labels);
  bool was_training = model.is_training();
  model.train(false);
  {
    NoGradGuard ng;
    nn::ObserverGuard guard(this);
    model.forward(x);
  }
  model.train(was_training);
  labels_.clear();
}

NormStats NormStatsCollector::result(const std::string& split) const {
  NormStats s;
  s.split = split;
  s.num_classes = num_classes_;
  s.samples_per_class = samples_;
  s.layers = layers_;
  return s;
}

FairnessGaps fairness_gaps(const NormLayerStats& L) {
  FairnessGaps g;
  const int64_t K = L.channels;
  std::vector<int64_t> present;
  for (int64_t c = 0; c < L.num_classes; ++c)
    if (L.count(c) > 0) present.push_back(c);
  g.classes = static_cast<int64_t>(present.size());
  if (present.size() < 2 || K == 0) return g;
  // max_c f(c) − min_c f(c) over the classes present.
  auto spread = [&](auto&& f) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int64_t c : present) {
      double v = f(c);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    return hi - lo;
  };
  auto channel_avg = [&](NormQuantity q, int64_t c, bool variance) {
    double s = 0;
    for (int64_t k = 0; k < K; ++k) s += variance ? L.at(q, c, k).var() : L.at(q, c, k).stddev();
    return s / static_cast<double>(K);
  };
  g.gap = spread([&](int64_t c) { return channel_avg(NormQuantity::Input, c, false); });
  g.gap_var = spread([&](int64_t c) { return channel_avg(NormQuantity::Input, c, true); });
  g.normalized = spread([&](int64_t c) { return channel_avg(NormQuantity::Normalized, c, false); });
  g.output = spread([&](int64_t c) { return channel_avg(NormQuantity::Output, c, false); });
  double sum = 0, mx = 0;
  for (int64_t k = 0; k < K; ++k) {
    double gk = spread([&](int64_t c) { return L.at(NormQuantity::Input, c, k).stddev(); });
    sum += gk;
    mx = std::max(mx, gk);
  }
  g.channel_max = mx;
  g.channel_mean = sum / static_cast<double>(K);
  return g;
}

NormStats collect_norm_stats(models::Classifier& model, const data::Dataset& d,
                             const std::vector<int64_t>& indices, const data::Normalization& norm,
                             const std::string& split, int64_t batch, profile::Progress* progress) {
  LETHE_CHECK(batch > 0, "norm stats: batch size must be positive, got ", batch);
  NormStatsCollector col(model, d.num_classes);
  data::LoaderOptions lo;
  lo.batch_size = batch;
  lo.shuffle = false;
  data::Loader loader(d, indices, lo);
  data::Batch b;
  while (loader.next(b)) {
    col.run(model, norm.apply(b.x), b.y.to_vector_i64());
    if (progress) progress->advance(b.y.numel());
  }
  return col.result(split);
}

namespace {

// Channel average of a per-channel quantity of class c.
double channel_mean_of(const NormLayerStats& L, NormQuantity q, int64_t c,
                       double (*f)(const Moments&)) {
  double s = 0;
  for (int64_t k = 0; k < L.channels; ++k) s += f(L.at(q, c, k));
  return L.channels ? s / static_cast<double>(L.channels) : 0;
}
double m_mean(const Moments& m) {
  return m.mean;
}
double m_std(const Moments& m) {
  return m.stddev();
}
double m_var(const Moments& m) {
  return m.var();
}

// JSON has no NaN; empty classes are null.
nlohmann::json num(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

nlohmann::json norm_stats_json(const NormStats& s) {
  nlohmann::json j;
  j["split"] = s.split;
  int64_t total = 0;
  for (int64_t n : s.samples_per_class) total += n;
  j["samples"] = total;
  j["samples_per_class"] = s.samples_per_class;
  j["quantity"] =
      "fairness_gap = max_c - min_c of the channel-averaged std of the layer input (what the "
      "norm normalizes) over class c's values; _var uses variances; _channel_max/_channel_mean: "
      "per-channel gaps, max/mean over channels; _normalized/_output: fairness_gap of the "
      "normalized activation / the layer output";
  nlohmann::json order = nlohmann::json::array(), layers = nlohmann::json::object();
  double sum = 0;
  for (const NormLayerStats& L : s.layers) {
    FairnessGaps g = fairness_gaps(L);
    nlohmann::json per_class = nlohmann::json::array();
    for (int64_t c = 0; c < L.num_classes; ++c)
      per_class.push_back(L.count(c) ? num(channel_mean_of(L, NormQuantity::Input, c, m_std))
                                     : nlohmann::json());
    layers[L.name] = {{"type", L.type},
                      {"channels", L.channels},
                      {"classes", g.classes},
                      {"fairness_gap", g.gap},
                      {"fairness_gap_var", g.gap_var},
                      {"fairness_gap_channel_max", g.channel_max},
                      {"fairness_gap_channel_mean", g.channel_mean},
                      {"fairness_gap_normalized", g.normalized},
                      {"fairness_gap_output", g.output},
                      {"input_std_per_class", per_class}};
    order.push_back(L.name);
    sum += g.gap;
  }
  j["order"] = order;
  j["layers"] = layers;
  j["mean_fairness_gap"] = s.layers.empty()
                               ? nlohmann::json()
                               : nlohmann::json(sum / static_cast<double>(s.layers.size()));
  return j;
}

std::vector<std::string> write_norm_stats_csv(const NormStats& s, const std::string& dir,
                                              bool channels) {
  std::vector<std::string> written;
  std::ostringstream t;
  t << "layer,order,type,channels,classes,fairness_gap,fairness_gap_var,"
       "fairness_gap_channel_max,fairness_gap_channel_mean,fairness_gap_normalized,"
       "fairness_gap_output\n";
  for (size_t l = 0; l < s.layers.size(); ++l) {
    const NormLayerStats& L = s.layers[l];
    FairnessGaps g = fairness_gaps(L);
    t << L.name << ',' << l << ',' << L.type << ',' << L.channels << ',' << g.classes << ','
      << fmt(g.gap) << ',' << fmt(g.gap_var) << ',' << fmt(g.channel_max) << ','
      << fmt(g.channel_mean) << ',' << fmt(g.normalized) << ',' << fmt(g.output) << '\n';
  }
  io::write_text_atomic(dir + "/bn_stats_layers.csv", t.str());
  written.push_back("bn_stats_layers.csv");

  t.str("");
  t << "layer,type,class,samples,count";
  for (int q = 0; q < kNormQuantities; ++q) {
    const char* n = quantity_name(static_cast<NormQuantity>(q));
    t << ',' << n << "_mean," << n << "_std," << n << "_var";
  }
  t << '\n';
  for (const NormLayerStats& L : s.layers)
    for (int64_t c = 0; c < L.num_classes; ++c) {
      int64_t samples =
          c < static_cast<int64_t>(s.samples_per_class.size()) ? s.samples_per_class[c] : 0;
      t << L.name << ',' << L.type << ',' << c << ',' << samples << ',' << L.count(c);
      for (int q = 0; q < kNormQuantities; ++q) {
        auto nq = static_cast<NormQuantity>(q);
        if (L.count(c) == 0) {
          t << ",,,";  // no values: empty cells, not zeros
          continue;
        }
        t << ',' << fmt(channel_mean_of(L, nq, c, m_mean)) << ','
          << fmt(channel_mean_of(L, nq, c, m_std)) << ',' << fmt(channel_mean_of(L, nq, c, m_var));
      }
      t << '\n';
    }
  io::write_text_atomic(dir + "/bn_stats_classes.csv", t.str());
  written.push_back("bn_stats_classes.csv");

  if (channels) {
    t.str("");
    t << "layer,class,channel,count";
    for (int q = 0; q < kNormQuantities; ++q) {
      const char* n = quantity_name(static_cast<NormQuantity>(q));
      t << ',' << n << "_mean," << n << "_var";
    }
    t << '\n';
    for (const NormLayerStats& L : s.layers)
      for (int64_t c = 0; c < L.num_classes; ++c) {
        if (L.count(c) == 0) continue;
        for (int64_t k = 0; k < L.channels; ++k) {
          t << L.name << ',' << c << ',' << k << ',' << L.count(c);
          for (int q = 0; q < kNormQuantities; ++q) {
            const Moments& m = L.at(static_cast<NormQuantity>(q), c, k);
            t << ',' << fmt(m.mean) << ',' << fmt(m.var());
          }
          t << '\n';
        }
      }
    io::write_text_atomic(dir + "/bn_stats_channels.csv", t.str());
    written.push_back("bn_stats_channels.csv");
  }
  return written;
}

}  // namespace lethe::eval
