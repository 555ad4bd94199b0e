// VisionTransformer construction (timm names, timm-style init) and forward.
#include "models/vit.h"

#include "engine/ops/ops.h"

namespace lethe::models {

namespace {
constexpr double kLnEps = 1e-6;  // timm's partial(nn.LayerNorm, eps=1e-6)
}

PatchEmbed::PatchEmbed(int64_t img_, int64_t patch_, int64_t in_chans, int64_t dim)
    : img(img_), patch(patch_), num_patches((img_ / patch_) * (img_ / patch_)) {
  proj = register_module("proj", std::make_shared<nn::Conv2d>(in_chans, dim, patch_, patch_, 0));
}

Tensor PatchEmbed::forward(const Tensor& x) {
  nn::ObservedForward obs(*this, x);
  LETHE_CHECK(x.defined() && x.dim() == 4 && x.size(2) == img && x.size(3) == img,
              "vit: input must be [N, ", proj->in_channels, ", ", img, ", ", img, "], got ",
              x.defined() ? shape_str(x.shape()) : "none");
  Tensor h = proj->forward(x);                                // [B, D, h, w]
  h = ops::flatten(h, 2);                                     // [B, D, N]
  return obs.done(ops::contiguous(ops::transpose(h, 1, 2)));  // [B, N, D]
}

VitMlp::VitMlp(int64_t dim, int64_t hidden) {
  fc1 = register_module("fc1", std::make_shared<nn::Linear>(dim, hidden));
  fc2 = register_module("fc2", std::make_shared<nn::Linear>(hidden, dim));
}

Tensor VitMlp::forward(const Tensor& x) {
  nn::ObservedForward obs(*this, x);
  return obs.done(fc2->forward(ops::gelu(fc1->forward(x))));
}

VitBlock::VitBlock(int64_t dim, int64_t heads, double mlp_ratio) {
  norm1 = register_module("norm1", std::make_shared<nn::LayerNorm>(dim, kLnEps));
  attn = register_module("attn", std::make_shared<nn::MultiHeadSelfAttention>(dim, heads, true));
  norm2 = register_module("norm2", std::make_shared<nn::LayerNorm>(dim, kLnEps));
  mlp = register_module(
      "mlp",
      std::make_shared<VitMlp>(dim, static_cast<int64_t>(static_cast<double>(dim) * mlp_ratio)));
}

Tensor VitBlock::forward(const Tensor& x) {
  nn::ObservedForward obs(*this, x);
  Tensor h = ops::add(x, attn->forward(norm1->forward(x)));
  return obs.done(ops::add(h, mlp->forward(norm2->forward(h))));
}

VisionTransformer::VisionTransformer(const ViTOptions& opt) : opt_(opt) {
  LETHE_CHECK(opt.patch >= 1 && opt.img >= opt.patch && opt.img % opt.patch == 0, "vit: image ",
              "size ", opt.img, " must be a positive multiple of the patch size ", opt.patch);
  LETHE_CHECK(opt.dim >= 1 && opt.heads >= 1 && opt.dim % opt.heads == 0, "vit: dim ", opt.dim,
              " must be a positive multiple of heads ", opt.heads);
  LETHE_CHECK(opt.depth >= 0, "vit: depth must be >= 0, got ", opt.depth);
  LETHE_CHECK(opt.mlp_ratio > 0 && static_cast<int64_t>(opt.dim * opt.mlp_ratio) >= 1,
              "vit: mlp_ratio must be positive, got ", opt.mlp_ratio);
  LETHE_CHECK(opt.in_chans >= 1, "vit: input channels must be positive, got ", opt.in_chans);
  LETHE_CHECK(opt.num_classes >= 1, "vit: classes must be positive, got ", opt.num_classes);

  // Registration order gives timm's state-dict order: own tensors (cls_token, pos_embed) first.
  const int64_t n = (opt.img / opt.patch) * (opt.img / opt.patch);
  cls_token = register_parameter("cls_token", Tensor::zeros({1, 1, opt.dim}));
  pos_embed = register_parameter("pos_embed", Tensor::zeros({1, 1 + n, opt.dim}));
  patch_embed = register_module(
      "patch_embed", std::make_shared<PatchEmbed>(opt.img, opt.patch, opt.in_chans, opt.dim));
  blocks = register_module("blocks", std::make_shared<nn::Sequential>());
  for (int64_t i = 0; i < opt.depth; ++i)
    blocks->push_back(std::make_shared<VitBlock>(opt.dim, opt.heads, opt.mlp_ratio));
  norm = register_module("norm", std::make_shared<nn::LayerNorm>(opt.dim, kLnEps));
  head = register_module("head", std::make_shared<nn::Linear>(opt.dim, opt.num_classes));

  // timm init_weights ('' mode): trunc_normal(.02) for pos_embed, cls_token and every Linear
  // weight, zero Linear biases; LayerNorm 1/0 and the patch conv keep PyTorch defaults.
  nn::trunc_normal_(pos_embed, 0, 0.02);
  nn::trunc_normal_(cls_token, 0, 0.02);
  apply([](nn::Module& m) {
    if (auto* l = dynamic_cast<nn::Linear*>(&m)) {
      nn::trunc_normal_(l->weight, 0, 0.02);
      if (l->bias.defined()) nn::zeros_(l->bias);
    }
  });
}

Tensor VisionTransformer::forward_features(const Tensor& x) {
  LETHE_CHECK(x.defined() && x.dim() == 4 && x.size(1) == opt_.in_chans, "vit: input must be [N, ",
              opt_.in_chans, ", ", opt_.img, ", ", opt_.img, "], got ",
              x.defined() ? shape_str(x.shape()) : "none");
  const int64_t b = x.size(0);
  Tensor h = patch_embed->forward(x);  // [B, N, D]
  Tensor cls = ops::expand_to(cls_token, {b, 1, opt_.dim});
  h = ops::add(ops::concat({cls, h}, 1), pos_embed);
  h = norm->forward(blocks->forward(h));
  return ops::reshape(ops::slice(h, 1, 0, 1), {b, opt_.dim});  // the class token
}

Tensor VisionTransformer::forward_head(const Tensor& f) {
  return head->forward(f);
}

std::vector<std::string> VisionTransformer::block_paths() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < blocks->size(); ++i) out.push_back("blocks." + std::to_string(i));
  return out;
}

Tensor VisionTransformer::forward_prefix(const Tensor& x, int64_t cut) {
  check_cut(cut);
  if (cut == num_blocks()) return forward_features(x);
  LETHE_CHECK(x.defined() && x.dim() == 4 && x.size(1) == opt_.in_chans, "vit: input must be [N, ",
              opt_.in_chans, ", ", opt_.img, ", ", opt_.img, "], got ",
              x.defined() ? shape_str(x.shape()) : "none");
  Tensor h = patch_embed->forward(x);
  Tensor cls = ops::expand_to(cls_token, {x.size(0), 1, opt_.dim});
  h = ops::add(ops::concat({cls, h}, 1), pos_embed);
  for (int64_t i = 0; i < cut; ++i) h = (*blocks)[static_cast<size_t>(i)]->forward(h);
  return h;  // the token sequence [N, 1 + patches, dim]
}

Tensor VisionTransformer::forward_suffix(const Tensor& h, int64_t cut) {
  check_cut(cut);
  if (cut == num_blocks()) return forward_head(h);
  Tensor t = h;
  for (int64_t i = cut; i < num_blocks(); ++i) t = (*blocks)[static_cast<size_t>(i)]->forward(t);
  t = norm->forward(t);
  return forward_head(ops::reshape(ops::slice(t, 1, 0, 1), {h.size(0), opt_.dim}));
}

}  // namespace lethe::models
