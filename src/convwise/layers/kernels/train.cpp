// The backward of a matrix-product layer (a 1×1 conv on channels-last rows, or an im2col conv) fused with
// the SELU after it, in one pass over the rows: chunk by chunk, the gradient at the product
// (grad · SELU'(y), or grad itself without SELU) is computed into a buffer in cache, summed into the bias
// gradient, multiplied by the weight into the input gradient (gemm.h's kernel) and multiplied with the
// layer's input rows into the weight gradient (per-thread partial sums, added at the end). The
// pre-activation gradient never reaches memory: the unfused form wrote it and read it twice more.
// The same layer followed by a 2×2 / stride-2 max pool runs fused too: the forward computes two image rows
// of the product into a buffer in cache and pools them at once, so only the pooled output (and a byte per
// element naming the window's winner) reaches memory; the backward needs the activation's derivative
// only at the winners, whose outputs are the pooled values, so the full-size output is never kept, and
// the full-size gradient at it is never written.
// Built on first use by convwise.layers.native; used by convwise.layers.fast (docs/training.md).
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "checks.h"
#include "gemm.h"
#include "pool.h"

at::Tensor pack_weight(const at::Tensor& weight);  // infer.cpp
at::Tensor pad_bias(const c10::optional<at::Tensor>& bias, int64_t cout);

namespace {

// C[0:R, 0:NV·VL] += Σ_p A[p·lda + r] · B[p·ldb + 0:NV·VL], p < count: the block of a weight gradient
// (Aᵀ·B) with R rows of it in registers beside NV vectors of columns.
template <int R, int NV>
void atb_block(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t count, float* c, int64_t ldc) {
  Reg acc[R][NV];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[r][v] = reg_load(c + r * ldc + v * VL);
  for (int64_t p = 0; p < count; ++p) {
    Reg bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bv[v] = reg_load(b + p * ldb + v * VL);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const Reg x = reg_set(a[p * lda + r]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = reg_fma(x, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) Vec(acc[r][v]).store(c + r * ldc + v * VL);
}

// Rows of the weight-gradient block: R·2 accumulators + 2 vectors of B + a broadcast fit the registers.
constexpr int ATB_ROWS = VL >= 16 ? 12 : 6;
using AtbBlock = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t);

template <int NV, int... Rs>
constexpr std::array<AtbBlock, sizeof...(Rs)> atb_table(std::integer_sequence<int, Rs...>) {
  return {&atb_block<Rs + 1, NV>...};
}
// ATB[nv - 1][r - 1]: the block of r rows and nv vectors.
const std::array<std::array<AtbBlock, ATB_ROWS>, 2> ATB = {
    atb_table<1>(std::make_integer_sequence<int, ATB_ROWS>{}),
    atb_table<2>(std::make_integer_sequence<int, ATB_ROWS>{})};

// C (M × N, dense) += Aᵀ·B for A (count × M, leading dimension lda) and B (count × N, ldb); N % VL == 0.
void atb(const float* a, int64_t lda, int64_t m, const float* b, int64_t ldb, int64_t n, int64_t count, float* c) {
  for (int64_t n0 = 0; n0 < n; n0 += 2 * VL) {
    const int nv = n - n0 >= 2 * VL ? 2 : 1;
    for (int64_t m0 = 0; m0 < m; m0 += ATB_ROWS) {
      const int64_t r = std::min<int64_t>(ATB_ROWS, m - m0);
      ATB[nv - 1][r - 1](a + m0, lda, b + n0, ldb, count, c + m0 * n + n0, n);
    }
  }
}

void check_rows(const at::Tensor& t, const char* name, int64_t rows) {
  TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == at::kFloat && t.dim() == 2 && t.is_contiguous() &&
                  t.size(0) == rows,
              name, " must be a contiguous float32 CPU (", rows, ", C) matrix, got ", t.scalar_type(), " ",
              t.sizes(), " with strides ", t.strides());
}

// Rows per chunk: the chunk's gradient, input and output rows stay in L2 between the three uses.
constexpr int64_t CHUNK = 256;

// The weight and bias gradients of a layer, summed per thread (each thread's own rows) and added at the end.
// The weight gradient is gpreᵀ·x (columns: Cin) where Cin is a multiple of the vector width, else xᵀ·gpre
// (columns: Cout), transposed when read.
struct GradSums {
  int64_t cout, cin;
  bool rows_of_w;
  int threads;
  std::vector<float> w, b;

  GradSums(int64_t cout_, int64_t cin_, bool weight, bool bias)
      : cout(cout_), cin(cin_), rows_of_w(cin_ % VL == 0), threads(at::get_num_threads()),
        w(weight ? static_cast<size_t>(threads) * cout_ * cin_ : 0, 0.f),
        b(bias ? static_cast<size_t>(threads) * cout_ : 0, 0.f) {
    TORCH_CHECK(!weight || rows_of_w || cout % VL == 0, "the weight gradient needs Cin (", cin, ") or Cout (",
                cout, ") to be a multiple of ", VL);
  }
  // This thread's bias sums (null when not asked for).
  float* bias_of(int tid) { return b.empty() ? nullptr : b.data() + static_cast<int64_t>(tid) * cout; }
  // Adds n rows: pre (n × Cout) the gradient at the product, x (n × Cin) the layer's input rows.
  void add_weight(int tid, const float* pre, const float* x, int64_t n) {
    if (w.empty()) return;
    float* dw = w.data() + static_cast<int64_t>(tid) * cout * cin;
    if (rows_of_w)
      atb(pre, cout, cout, x, cin, cin, n, dw);
    else
      atb(x, cin, cin, pre, cout, cout, n, dw);
  }
  at::Tensor weight(const at::TensorOptions& options) const {
    if (w.empty()) return {};
    at::Tensor sum = at::zeros({rows_of_w ? cout : cin, rows_of_w ? cin : cout}, options);
    float* sp = sum.data_ptr<float>();
    for (int t = 0; t < threads; ++t)
      for (int64_t i = 0; i < cout * cin; ++i) sp[i] += w[static_cast<size_t>(t) * cout * cin + i];
    return rows_of_w ? sum : sum.t().contiguous();
  }
  at::Tensor bias(const at::TensorOptions& options) const {
    if (b.empty()) return {};
    at::Tensor sum = at::zeros({cout}, options);
    float* sp = sum.data_ptr<float>();
    for (int t = 0; t < threads; ++t)
      for (int64_t c = 0; c < cout; ++c) sp[c] += b[static_cast<size_t>(t) * cout + c];
    return sum;
  }
};

// The input gradient's multiply: gx rows = pre · W, W (Cout, Cin) packed once as the (Cin, Cout) weight.
struct InputGrad {
  at::Tensor packed, zero_bias;
  int nv = 0;
  int64_t cout = 0, cin = 0;

  InputGrad(const at::Tensor& weight, bool wanted) {
    if (!wanted) return;
    cout = weight.size(0);
    cin = weight.size(1);
    packed = pack_weight(weight.t().contiguous());
    zero_bias = pad_bias(c10::nullopt, cin);
    nv = static_cast<int>(packed.size(2) / VL);
  }
  void run(const float* pre, int64_t n, float* out) const {
    gemm(pre, cout, n, packed.const_data_ptr<float>(), nv, cout, zero_bias.const_data_ptr<float>(), cin, out, cin, 0);
  }
};

void check_weight(const at::Tensor& weight, int64_t cout, int64_t cin) {
  TORCH_CHECK(weight.dim() == 2 && weight.size(0) == cout && weight.size(1) == cin &&
                  weight.scalar_type() == at::kFloat && weight.is_contiguous(),
              "weight must be a contiguous float32 (", cout, ", ", cin, ") matrix, got ", weight.sizes());
}

}  // namespace

// The gradients of y = act(x·Wᵀ + b), act SELU (from its output `y`) or none (`y` absent), from `grad` (dL/dy):
// (dL/dx, dL/dW, dL/db), each an undefined tensor when not asked for. grad, y: (R, Cout); x: (R, Cin);
// weight: (Cout, Cin); all contiguous float32. The weight gradient needs Cin or Cout a multiple of
// `backward_multiple()` (the vector width).
std::tuple<at::Tensor, at::Tensor, at::Tensor> pointwise_backward(const at::Tensor& grad,
                                                                  const c10::optional<at::Tensor>& y,
                                                                  const at::Tensor& x, const at::Tensor& weight,
                                                                  bool input_grad, bool weight_grad, bool bias_grad) {
  const int64_t rows = grad.size(0), cout = grad.size(1), cin = x.size(1);
  check_rows(grad, "grad", rows);
  check_rows(x, "x", rows);
  const bool selu = y.has_value() && y->defined();
  if (selu) {
    check_rows(*y, "y", rows);
    TORCH_CHECK(y->size(1) == cout, "y must have ", cout, " columns as grad, got ", y->sizes());
  }
  check_weight(weight, cout, cin);
  GradSums sums(cout, cin, weight_grad, bias_grad);
  const InputGrad input(weight, input_grad);
  at::Tensor gx = input_grad ? at::empty({rows, cin}, x.options()) : at::Tensor();
  const float* gp = grad.const_data_ptr<float>();
  const float* yp = selu ? y->const_data_ptr<float>() : nullptr;
  const float* xp = x.const_data_ptr<float>();
  float* gxp = input_grad ? gx.data_ptr<float>() : nullptr;
  const int64_t chunks = (rows + CHUNK - 1) / CHUNK;
  const Vec zero(0.f), scale(kSeluScale), scale_alpha(kSeluScale * kSeluAlpha);
  at::parallel_for(0, chunks, 1, [&](int64_t begin, int64_t end) {
    const int tid = at::get_thread_num();
    float* db = sums.bias_of(tid);
    std::vector<float> buffer(selu ? static_cast<size_t>(CHUNK * cout) : 0);
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      const int64_t r0 = chunk * CHUNK, n = std::min(CHUNK, rows - r0);
      const float* g = gp + r0 * cout;
      if (selu || db) {
        const float* yc = selu ? yp + r0 * cout : nullptr;
        float* out = selu ? buffer.data() : nullptr;
        for (int64_t r = 0; r < n; ++r)
          for (int64_t c = 0; c < cout; c += VL) {
            const int w = static_cast<int>(std::min<int64_t>(VL, cout - c));
            const int64_t i = r * cout + c;
            Vec d = Vec::loadu(g + i, w);
            if (selu) {
              const Vec v = Vec::loadu(yc + i, w);
              d = Vec::blendv(d * (v + scale_alpha), d * scale, v > zero);  // NaN stays NaN
              d.store(out + i, w);
            }
            if (db) (Vec::loadu(db + c, w) + d).store(db + c, w);
          }
        if (selu) g = buffer.data();
      }
      if (input_grad) input.run(g, n, gxp + r0 * cin);
      sums.add_weight(tid, g, xp + r0 * cin, n);
    }
  });
  return {gx, sums.weight(x.options()), sums.bias(x.options())};
}

int64_t backward_multiple() { return VL; }

// maxpool2x2(act(conv1x1(x) + bias)) for a channels-last x, the weight packed by pack_weight from (Cout, Cin),
// act 0 (none) or 3 (SELU): (pooled output (N, Cout, H/2, W/2) channels-last, winners (N, H/2, W/2, Cout) bytes
// as maxpool2x2_forward's).
std::tuple<at::Tensor, at::Tensor> pointwise_pool_forward(const at::Tensor& x, const at::Tensor& packed,
                                                          const c10::optional<at::Tensor>& bias, int64_t cout,
                                                          int64_t act) {
  check_cl(x, "x");
  const int64_t n = x.size(0), cin = x.size(1), h = x.size(2), w = x.size(3), ho = h / 2, wo = w / 2;
  TORCH_CHECK(ho > 0 && wo > 0, "x must be at least 2x2, got sizes ", x.sizes());
  check_packed(packed, cin, cout);
  const at::Tensor b = pad_bias(bias, cout);
  at::Tensor out = at::empty({n, cout, ho, wo}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  at::Tensor code = at::empty({n, ho, wo, cout}, x.options().dtype(at::kByte));
  const float *xp = x.const_data_ptr<float>(), *wp = packed.const_data_ptr<float>(), *bp = b.const_data_ptr<float>();
  float* op = out.data_ptr<float>();
  uint8_t* cp = code.data_ptr<uint8_t>();
  const int nv = static_cast<int>(packed.size(2) / VL);
  at::parallel_for(0, n * ho, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> buffer(static_cast<size_t>(2 * w * cout));  // two image rows of the product
    for (int64_t row = begin; row < end; ++row) {
      const int64_t img = row / ho, oh = row % ho;
      gemm(xp + ((img * h + 2 * oh) * w) * cin, cin, 2 * w, wp, nv, cin, bp, cout, buffer.data(), cout,
           static_cast<int>(act));
      pool_row(buffer.data(), buffer.data() + w * cout, wo, cout, op + row * wo * cout, cp + row * wo * cout);
    }
  });
  return {out, code};
}

// The gradients of pointwise_pool_forward from the pooled output's gradient `grad`, the pooled output `y`
// (SELU's derivative at the winners; absent: no activation), the winners and the layer's input x:
// (dL/dx channels-last, dL/dW (Cout, Cin), dL/db), each undefined when not asked for.
std::tuple<at::Tensor, at::Tensor, at::Tensor> pointwise_pool_backward(
    const at::Tensor& grad, const c10::optional<at::Tensor>& y, const at::Tensor& code, const at::Tensor& x,
    const at::Tensor& weight, bool input_grad, bool weight_grad, bool bias_grad) {
  check_cl(grad, "grad");
  check_cl(x, "x");
  const int64_t n = x.size(0), cin = x.size(1), h = x.size(2), w = x.size(3), ho = h / 2, wo = w / 2;
  const int64_t cout = grad.size(1);
  TORCH_CHECK(grad.size(0) == n && grad.size(2) == ho && grad.size(3) == wo, "grad must be the 2x2 pool of a ", h,
              "x", w, " output, got sizes ", grad.sizes());
  const bool selu = y.has_value() && y->defined();
  if (selu) {
    check_cl(*y, "y");
    TORCH_CHECK(y->sizes() == grad.sizes(), "y must have grad's sizes ", grad.sizes(), ", got ", y->sizes());
  }
  check_pool_code(code, n, ho, wo, cout);
  check_weight(weight, cout, cin);
  GradSums sums(cout, cin, weight_grad, bias_grad);
  const InputGrad input(weight, input_grad);
  at::Tensor gx;
  if (input_grad) gx = at::empty({n, cin, h, w}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  const float* gp = grad.const_data_ptr<float>();
  const float* yp = selu ? y->const_data_ptr<float>() : nullptr;
  const uint8_t* kp = code.const_data_ptr<uint8_t>();
  const float* xp = x.const_data_ptr<float>();
  float* gxp = input_grad ? gx.data_ptr<float>() : nullptr;
  at::parallel_for(0, n * ho, 1, [&](int64_t begin, int64_t end) {
    const int tid = at::get_thread_num();
    float* db = sums.bias_of(tid);
    const int64_t pixels = 2 * w;  // the two image rows of one row of windows
    // every window's four taps are written below; an odd last column is not and stays zero
    std::vector<float> pre(static_cast<size_t>(pixels * cout), 0.f);
    float idx[VL];
    const Vec zero(0.f), scale(kSeluScale), scale_alpha(kSeluScale * kSeluAlpha);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t img = row / ho, oh = row % ho;
      // the gradient at the product: at each window's winner, grad · act'(output); zero elsewhere
      for (int64_t ow = 0; ow < wo; ++ow) {
        const int64_t o = (row * wo + ow) * cout;
        float* tap[4] = {pre.data() + 2 * ow * cout, pre.data() + (2 * ow + 1) * cout,
                         pre.data() + (w + 2 * ow) * cout, pre.data() + (w + 2 * ow + 1) * cout};
        for (int64_t c = 0; c < cout; c += VL) {
          const int m = static_cast<int>(std::min<int64_t>(VL, cout - c));
          Vec d = Vec::loadu(gp + o + c, m);
          if (selu) {
            const Vec v = Vec::loadu(yp + o + c, m);
            d = Vec::blendv(d * (v + scale_alpha), d * scale, v > zero);  // NaN stays NaN
          }
          for (int l = 0; l < m; ++l) idx[l] = static_cast<float>(kp[o + c + l]);
          const Vec which = Vec::loadu(idx, m);
          for (int t = 0; t < 4; ++t) Vec::blendv(zero, d, which == Vec(static_cast<float>(t))).store(tap[t] + c, m);
          if (db) (Vec::loadu(db + c, m) + d).store(db + c, m);
        }
      }
      const int64_t first = (img * h + 2 * oh) * w;  // the first pixel of the two rows
      if (input_grad) {
        input.run(pre.data(), pixels, gxp + first * cin);
        if (h % 2 && oh == ho - 1)  // the row floor mode dropped: no gradient
          std::fill(gxp + (first + pixels) * cin, gxp + (first + pixels + w) * cin, 0.f);
      }
      sums.add_weight(tid, pre.data(), xp + first * cin, pixels);
    }
  });
  return {gx, sums.weight(x.options()), sums.bias(x.options())};
}
