// Views and layout ops. Views share storage; their backward rules map the gradient back to
// the input's shape (inverse permutation, zero-padded slice, ...).
#include <algorithm>
#include <cstring>
#include <numeric>

#include "engine/ops/op_util.h"
#include "engine/ops/ops.h"

namespace lethe::ops {
using namespace detail;

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = dense(x);
  return record(out, "contiguous", {x},
                [](const Tensor& g, const std::vector<bool>&) { return std::vector<Tensor>{g}; });
}

Tensor reshape(const Tensor& x, Shape shape) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      LETHE_CHECK(infer < 0, "reshape: more than one -1 in ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      LETHE_CHECK(shape[i] >= 0, "reshape: negative size in ", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    LETHE_CHECK(known > 0 && x.numel() % known == 0, "reshape: cannot reshape ",
                shape_str(x.shape()), " to ", shape_str(shape));
    shape[infer] = x.numel() / known;
  }
  LETHE_CHECK(shape_numel(shape) == x.numel(), "reshape: cannot reshape ", shape_str(x.shape()),
              " (", x.numel(), " elements) to ", shape_str(shape));
  Tensor src = x.is_contiguous() ? x : contiguous(x);
  Tensor out = make_view(src, shape, contiguous_strides(shape), src.offset());
  Shape in_shape = x.shape();
  return record(out, "reshape", {src}, [in_shape](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{reshape(g, in_shape)};
  });
}

Tensor flatten(const Tensor& x, int64_t start_dim) {
  start_dim = norm_dim("flatten", start_dim, x.dim());
  Shape s(x.shape().begin(), x.shape().begin() + start_dim);
  s.push_back(-1);
  if (x.numel() == 0) s.back() = 0;
  return reshape(x, s);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  int64_t nd = x.dim();
  LETHE_CHECK(static_cast<int64_t>(dims.size()) == nd, "permute: ", dims.size(),
              " dimensions given for a ", nd, "-d tensor");
  std::vector<int64_t> d(dims.size());
  std::vector<bool> used(nd, false);
  for (int64_t i = 0; i < nd; ++i) {
    d[i] = norm_dim("permute", dims[i], nd);
    LETHE_CHECK(!used[d[i]], "permute: dimension ", d[i], " repeated");
    used[d[i]] = true;
  }
  Shape s(nd), st(nd);
  for (int64_t i = 0; i < nd; ++i) {
    s[i] = x.shape()[d[i]];
    st[i] = x.strides()[d[i]];
  }
  Tensor out = make_view(x, s, st, x.offset());
  std::vector<int64_t> inv(nd);
  for (int64_t i = 0; i < nd; ++i) inv[d[i]] = i;
  return record(out, "permute", {x}, [inv](const Tensor& g, const std::vector<bool>&) {
    return std::vector<Tensor>{contiguous(permute(g, inv))};
  });
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  std::vector<int64_t> p(x.dim());
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[norm_dim("transpose", d0, x.dim())], p[norm_dim("transpose", d1, x.dim())]);
  return permute(x, p);
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end) {
  dim = norm_dim("slice", dim, x.dim());
  int64_t n = x.size(dim);
  LETHE_CHECK(0 <= start && start <= end && end <= n, "slice: range [", start, ",", end,
              ") out of bounds for dimension ", dim, " of size ", n);
  Shape s = x.shape();
  s[dim] = end - start;
  Tensor out = make_view(x, s, x.strides(), x.offset() + start * x.strides()[dim]);
  Shape in_shape = x.shape();
  return record(out, "slice", {x}, [=](const Tensor& g, const std::vector<bool>&) {
    Tensor gx = Tensor::zeros(in_shape, g.dtype(), g.device());
    Tensor view = make_view(gx, g.shape(), gx.strides(), start * gx.strides()[dim]);
    view.copy_(g);
    return std::vector<Tensor>{gx};
  });
}

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  LETHE_CHECK(!xs.empty(), "concat: no tensors");
  int64_t nd = xs[0].dim();
  dim = norm_dim("concat", dim, nd);
  Shape s = xs[0].shape();
  int64_t total = 0;
  for (const Tensor& t : xs) {
    LETHE_CHECK(t.dim() == nd, "concat: rank mismatch ", shape_str(t.shape()), " vs ",
                shape_str(s));
    check_same_dtype("concat", xs[0], t);
    for (int64_t d = 0; d < nd; ++d)
      LETHE_CHECK(d == dim || t.shape()[d] == s[d], "concat: shape ", shape_str(t.shape()),
                  " does not match ", shape_str(s), " outside dimension ", dim);
    total += t.size(dim);
  }
  s[dim] = total;
  Device dev = xs[0].device();
  for (const Tensor& t : xs)
    if (!t.is_cpu()) dev = t.device();
  Tensor out = Tensor::empty(s, xs[0].dtype(), dev);
  std::vector<int64_t> starts;
  int64_t at = 0;
  for (const Tensor& t : xs) {
    starts.push_back(at);
    Shape vs = s;
    vs[dim] = t.size(dim);
    Tensor view = make_view(out, vs, out.strides(), at * out.strides()[dim]);
    view.copy_(t);
    at += t.size(dim);
  }
  std::vector<int64_t> sizes;
  for (const Tensor& t : xs) sizes.push_back(t.size(dim));
  return record(out, "concat", xs, [=](const Tensor& g, const std::vector<bool>& needs) {
    std::vector<Tensor> gs(sizes.size());
    for (size_t i = 0; i < sizes.size(); ++i)
      if (needs[i]) gs[i] = dense(slice(g, dim, starts[i], starts[i] + sizes[i]));
    return gs;
  });
}

Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  LETHE_CHECK(static_cast<int64_t>(shape.size()) <= g.dim(), "sum_to: cannot reduce ",
              shape_str(g.shape()), " to ", shape_str(shape));
  // Right-align `shape` against g, reduce where it is 1 (or missing), then drop leading dims.
  Shape padded(g.dim() - shape.size(), 1);
  padded.insert(padded.end(), shape.begin(), shape.end());
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < g.dim(); ++d) {
    if (padded[d] == g.size(d)) continue;
    LETHE_CHECK(padded[d] == 1, "sum_to: cannot reduce ", shape_str(g.shape()), " to ",
                shape_str(shape));
    dims.push_back(d);
  }
  Tensor r = sum(g, dims, /*keepdim=*/true);
  return reshape(r, shape);
}

Tensor expand_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  Tensor zeros = Tensor::zeros(shape, x.dtype(), x.device());
  return add(zeros, x);
}

Tensor index_select(const Tensor& x, const std::vector<int64_t>& rows) {
  LETHE_CHECK(x.dim() >= 1, "index_select: needs at least 1 dimension");
  Tensor xd = dense(x);
  int64_t n = x.size(0), row = x.numel() / std::max<int64_t>(n, 1);
  Shape s = x.shape();
  s[0] = static_cast<int64_t>(rows.size());
  Tensor out = Tensor::empty(s, x.dtype(), x.device());
  size_t es = dtype_size(x.dtype());
  for (size_t i = 0; i < rows.size(); ++i) {
    LETHE_CHECK(rows[i] >= 0 && rows[i] < n, "index_select: index ", rows[i], " out of range for ",
                n, " rows");
    if (xd.is_cpu()) {
      std::memcpy(static_cast<uint8_t*>(out.raw()) + i * row * es,
                  static_cast<const uint8_t*>(xd.raw()) + rows[i] * row * es, row * es);
    } else {  // a device-to-device copy per row
      make_view(out, {row}, {1}, static_cast<int64_t>(i) * row)
          .copy_(make_view(xd, {row}, {1}, xd.offset() + rows[i] * row));
    }
  }
  Shape in_shape = x.shape();
  return record(out, "index_select", {x}, [=](const Tensor& g, const std::vector<bool>&) {
    Tensor gx = Tensor::zeros(in_shape, g.dtype(), g.device());
    Tensor gd = dense(g);
    // Accumulate (indices may repeat).
    for (size_t i = 0; i < rows.size(); ++i) {
      Tensor dst = make_view(gx, {row}, {1}, rows[i] * row);
      Tensor src = make_view(gd, {row}, {1}, gd.offset() + static_cast<int64_t>(i) * row);
      NoGradGuard ng;
      dst.copy_(add(dst, src));
    }
    return std::vector<Tensor>{gx};
  });
}

}  // namespace lethe::ops
