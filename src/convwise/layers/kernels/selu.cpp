// SELU forward and backward for dense fp32 CPU tensors, vectorised with ATen's Vectorized<float>
// (its fast exp) and split over PyTorch's intra-op threads. Built on first use by convwise.layers.native.
// selu(x) = SCALE * x for x > 0, SCALE * ALPHA * (exp(x) - 1) otherwise; the backward from the output y:
// grad * SCALE for y > 0, grad * (y + SCALE * ALPHA) otherwise (as ATen's, a NaN staying NaN both ways).
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "gemm.h"  // Vec, kSeluAlpha, kSeluScale

namespace {

constexpr float kAlpha = kSeluAlpha;
constexpr float kScale = kSeluScale;
constexpr int64_t kGrain = 32768;

void check(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == at::kFloat, name, " must be a float32 CPU tensor, got ",
              t.scalar_type(), " on ", t.device());
  TORCH_CHECK(t.is_non_overlapping_and_dense(), name, " must be dense (contiguous in some memory format), got strides ",
              t.strides(), " for sizes ", t.sizes());
}

}  // namespace

at::Tensor selu_forward(const at::Tensor& x) {
  check(x, "x");
  at::Tensor y = at::empty_like(x);  // same strides: element i of x's memory maps to element i of y's
  const float* xp = x.const_data_ptr<float>();
  float* yp = y.data_ptr<float>();
  const Vec zero(0.f), one(1.f), scale(kScale), scale_alpha(kScale * kAlpha);
  at::parallel_for(0, x.numel(), kGrain, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + Vec::size() <= end; i += Vec::size()) {
      Vec v = Vec::loadu(xp + i);
      Vec neg = scale_alpha * (at::vec::minimum(v, zero).exp_u20() - one);
      Vec::blendv(scale * v, neg, v <= zero).store(yp + i);  // NaN: scale * NaN
    }
    for (; i < end; ++i) {
      const float v = xp[i];
      yp[i] = v <= 0.f ? kScale * kAlpha * std::expm1(v) : kScale * v;
    }
  });
  return y;
}

at::Tensor selu_backward(const at::Tensor& grad, const at::Tensor& y) {
  check(grad, "grad");
  check(y, "y");
  TORCH_CHECK(grad.sizes() == y.sizes() && grad.strides() == y.strides(), "grad and y must have one layout, got ",
              grad.sizes(), "/", grad.strides(), " and ", y.sizes(), "/", y.strides());
  at::Tensor out = at::empty_like(y);
  const float* gp = grad.const_data_ptr<float>();
  const float* yp = y.const_data_ptr<float>();
  float* op = out.data_ptr<float>();
  const Vec zero(0.f), scale(kScale), scale_alpha(kScale * kAlpha);
  at::parallel_for(0, y.numel(), kGrain, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    for (; i + Vec::size() <= end; i += Vec::size()) {
      Vec g = Vec::loadu(gp + i), v = Vec::loadu(yp + i);
      Vec::blendv(g * (v + scale_alpha), g * scale, v > zero).store(op + i);  // NaN: NaN
    }
    for (; i < end; ++i) op[i] = yp[i] > 0.f ? gp[i] * kScale : gp[i] * (yp[i] + kScale * kAlpha);
  });
  return out;
}

// In place over a row-major (R, C) matrix m (a matrix product's output): m = selu(m + bias), bias (C) or
// none. The forward of a convolution or linear layer fused with the SELU after it.
void bias_selu_(at::Tensor& m, const c10::optional<at::Tensor>& bias) {
  check(m, "m");
  TORCH_CHECK(m.dim() == 2 && m.is_contiguous(), "m must be a contiguous (R, C) matrix, got sizes ", m.sizes(),
              " and strides ", m.strides());
  const int64_t rows = m.size(0), cols = m.size(1);
  const float* bp = nullptr;
  if (bias.has_value() && bias->defined()) {
    check(*bias, "bias");
    TORCH_CHECK(bias->is_contiguous() && bias->numel() == cols, "bias must hold ", cols, " values, got sizes ",
                bias->sizes());
    bp = bias->const_data_ptr<float>();
  }
  float* mp = m.data_ptr<float>();
  const int64_t vend = cols - cols % Vec::size();
  const Vec zero(0.f), one(1.f), scale(kScale), scale_alpha(kScale * kAlpha);
  at::parallel_for(0, rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* row = mp + r * cols;
      for (int64_t c = 0; c < vend; c += Vec::size()) {
        Vec v = Vec::loadu(row + c);
        if (bp) v = v + Vec::loadu(bp + c);
        Vec neg = scale_alpha * (at::vec::minimum(v, zero).exp_u20() - one);
        Vec::blendv(scale * v, neg, v <= zero).store(row + c);
      }
      for (int64_t c = vend; c < cols; ++c) {
        const float v = row[c] + (bp ? bp[c] : 0.f);
        row[c] = v <= 0.f ? kScale * kAlpha * std::expm1(v) : kScale * v;
      }
    }
  });
}

// SELU's input gradient from the output gradient and the output, both row-major (R, C), and its column
// sums (the gradient of a bias added before the SELU), in one pass: (grad_in, column_sums).
std::tuple<at::Tensor, at::Tensor> selu_backward_colsum(const at::Tensor& grad, const at::Tensor& y) {
  check(grad, "grad");
  check(y, "y");
  TORCH_CHECK(grad.dim() == 2 && grad.is_contiguous() && y.is_contiguous() && grad.sizes() == y.sizes(),
              "grad and y must be contiguous (R, C) matrices of one size, got ", grad.sizes(), "/", grad.strides(),
              " and ", y.sizes(), "/", y.strides());
  const int64_t rows = y.size(0), cols = y.size(1);
  at::Tensor out = at::empty_like(y);
  const int threads = at::get_num_threads();
  std::vector<float> partial(static_cast<size_t>(threads) * cols, 0.f);
  const float* gp = grad.const_data_ptr<float>();
  const float* yp = y.const_data_ptr<float>();
  float* op = out.data_ptr<float>();
  const int64_t vend = cols - cols % Vec::size();
  const Vec zero(0.f), scale(kScale), scale_alpha(kScale * kAlpha);
  at::parallel_for(0, rows, std::max<int64_t>(1, kGrain / std::max<int64_t>(cols, 1)), [&](int64_t begin, int64_t end) {
    float* sums = partial.data() + static_cast<int64_t>(at::get_thread_num()) * cols;  // in L1
    for (int64_t r = begin; r < end; ++r) {  // row by row: each array streamed once
      const int64_t base = r * cols;
      for (int64_t c = 0; c < vend; c += Vec::size()) {
        Vec g = Vec::loadu(gp + base + c), v = Vec::loadu(yp + base + c);
        Vec d = Vec::blendv(g * (v + scale_alpha), g * scale, v > zero);
        d.store(op + base + c);
        (Vec::loadu(sums + c) + d).store(sums + c);
      }
      for (int64_t c = vend; c < cols; ++c) {
        const int64_t i = base + c;
        const float d = yp[i] > 0.f ? gp[i] * kScale : gp[i] * (yp[i] + kScale * kAlpha);
        op[i] = d;
        sums[c] += d;
      }
    }
  });
  at::Tensor colsum = at::zeros({cols}, y.options());
  float* sp = colsum.data_ptr<float>();
  for (int t = 0; t < threads; ++t)
    for (int64_t c = 0; c < cols; ++c) sp[c] += partial[static_cast<size_t>(t) * cols + c];
  return {out, colsum};
}
