// SELU forward and backward for dense fp32 CPU tensors, vectorised with ATen's Vectorized<float>
// (its fast exp) and split over PyTorch's intra-op threads. Built on first use by convwise.layers.native.
// selu(x) = SCALE * x for x > 0, SCALE * ALPHA * (exp(x) - 1) otherwise; the backward from the output y:
// grad * SCALE for y > 0, grad * (y + SCALE * ALPHA) otherwise (as ATen's, a NaN staying NaN both ways).
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>

namespace {

constexpr float kAlpha = 1.6732632423543772f;
constexpr float kScale = 1.0507009873554805f;
constexpr int64_t kGrain = 32768;
using Vec = at::vec::Vectorized<float>;

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

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("selu_forward", &selu_forward, "SELU of a dense float32 CPU tensor");
  m.def("selu_backward", &selu_backward, "SELU's input gradient from the output gradient and the output");
}
