#include "unlearn/prefix.h"

#include <cstdio>

namespace lethe::unlearn {

namespace {
// Records a decision not to cache; the first reason is kept.
void refuse(UnlearnContext& ctx, const std::string& reason) {
  if (!ctx.cache_report.contains("used")) {
    ctx.cache_report["used"] = false;
    ctx.cache_report["reason"] = reason;
  }
}
}  // namespace

std::string inputs_not_fixed(const train::EpochOptions& eo, const UnlearnContext& ctx) {
  if (eo.perturb) return "an input-space perturbation of every batch";
  if (eo.augment.enabled())
    return "augmentation " + ctx.original_config.value("augment", std::string("?")) +
           " changes the inputs every epoch";
  return "";
}

models::PrefixCache* prefix_cache_for(UnlearnContext& ctx, const std::vector<int64_t>& rows,
                                      const std::string& not_fixed) {
  if (ctx.cache_report.value("over_budget", false)) return nullptr;
  if (!not_fixed.empty()) {
    refuse(ctx, not_fixed);
    return nullptr;
  }
  if (ctx.opt.cache_mb <= 0) {
    refuse(ctx, "--cache-mb 0");
    return nullptr;
  }
  models::FrozenCut cut = models::frozen_prefix_cut(*ctx.model);
  if (cut.cut < 0) {
    refuse(ctx, "no frozen prefix: " + cut.reason);
    return nullptr;
  }
  if (!ctx.prefix_cache)
    ctx.prefix_cache = std::make_shared<models::PrefixCache>(cut.cut, ctx.opt.cache_mb << 20);
  LETHE_CHECK(ctx.prefix_cache->cut() == cut.cut, "prefix cache: the scope moved from cut ",
              ctx.prefix_cache->cut(), " to ", cut.cut, " within one run");
  bool ok = true;
  {
    auto s = ctx.timer->scope("prefix cache");
    ok = ctx.prefix_cache->add_rows(*ctx.model, *ctx.train, rows, ctx.norm, ctx.opt.batch);
  }
  if (!ok) {
    std::fprintf(stderr, "prefix cache: %zu rows exceed --cache-mb %lld; running uncached\n",
                 rows.size(), static_cast<long long>(ctx.opt.cache_mb));
    ctx.prefix_cache.reset();
    ctx.cache_report = {
        {"used", false},
        {"over_budget", true},
        {"reason", "the features exceed --cache-mb " + std::to_string(ctx.opt.cache_mb)}};
    return nullptr;
  }
  const models::PrefixCache& c = *ctx.prefix_cache;
  ctx.cache_report["used"] = true;
  ctx.cache_report.erase("reason");
  ctx.cache_report["cut"] = cut.at;
  ctx.cache_report["rows"] = c.rows();
  ctx.cache_report["bytes"] = c.bytes();
  ctx.cache_report["row_shape"] = c.row_shape();
  return ctx.prefix_cache.get();
}

void attach_prefix_cache(UnlearnContext& ctx, train::EpochOptions& eo,
                         const std::vector<int64_t>& rows) {
  eo.cache = prefix_cache_for(ctx, rows, inputs_not_fixed(eo, ctx));
}

void note_uncached(UnlearnContext& ctx, const std::string& part) {
  nlohmann::json& u = ctx.cache_report["uncached"];
  if (!u.is_array()) u = nlohmann::json::array();
  for (const auto& p : u)
    if (p == part) return;
  u.push_back(part);
}

}  // namespace lethe::unlearn
