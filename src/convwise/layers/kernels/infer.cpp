// Inference convolutions on channels-last fp32 CPU tensors: a register-blocked matrix-multiply kernel
// with the bias and the activation applied before the store, and on top of it a k×k convolution
// (im2col of a band of output rows into a buffer that stays in cache, then the multiply), a depthwise
// convolution, and a depthwise-separable block (depthwise → activation → 1×1 conv → activation) that
// never writes the depthwise output to memory: each band of it is computed into a small buffer and
// consumed by the 1×1 conv at once. Built on first use by convwise.layers.native; used by
// convwise.deploy (docs/deploy.md, "native kernels").
//
// Layouts: activations are (N, C, H, W) tensors in channels-last memory, element (n, h, w, c) at
// ((n*H + h)*W + w)*C + c. A conv's weight is packed once (`pack_weight`) from (Cout, K) — K = KH*KW*Cin
// in (kh, kw, ci) order — into column panels of NR output channels (below): panel j holds, for every k, the NR
// weights of output channels j*NR … j*NR+NR-1 (zeros past Cout), so the kernel reads it sequentially.
// Activations (gemm.h): 0 none, 1 ReLU, 2 ReLU6, 3 SELU.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "checks.h"
#include "gemm.h"

namespace {

struct Geometry {
  int64_t kh, kw, sh, sw, pt, pl, dh, dw, oh, ow;
};

Geometry geometry(const at::Tensor& x, int64_t kh, int64_t kw, at::IntArrayRef stride, at::IntArrayRef pad,
                  at::IntArrayRef dilation) {
  TORCH_CHECK(stride.size() == 2 && pad.size() == 4 && dilation.size() == 2,
              "stride and dilation take 2 values, pad 4 (top, left, bottom, right)");
  const int64_t h = x.size(2), w = x.size(3);
  Geometry g{kh, kw, stride[0], stride[1], pad[0], pad[1], dilation[0], dilation[1], 0, 0};
  g.oh = (h + pad[0] + pad[2] - dilation[0] * (kh - 1) - 1) / stride[0] + 1;
  g.ow = (w + pad[1] + pad[3] - dilation[1] * (kw - 1) - 1) / stride[1] + 1;
  TORCH_CHECK(g.oh > 0 && g.ow > 0, "the output would be empty: input ", x.sizes(), ", kernel ", kh, "x", kw);
  return g;
}

// The bias as NR-padded float32 (zeros without one): kernels read whole panels of it. A bias already
// padded (`pad_bias`, done once by convwise.deploy.native) is used as it is.
at::Tensor padded_bias(const c10::optional<at::Tensor>& bias, int64_t cout) {
  const int64_t width = (cout + NR_MAX - 1) / NR_MAX * NR_MAX;
  if (bias.has_value() && bias->defined() && bias->dim() == 1 && bias->size(0) >= width &&
      bias->scalar_type() == at::kFloat && bias->is_contiguous() && bias->device().is_cpu())
    return *bias;
  at::Tensor out = at::zeros({width}, at::kFloat);
  if (bias.has_value() && bias->defined()) out.narrow(0, 0, cout).copy_(bias->reshape({-1}));
  return out;
}

// One output pixel of a depthwise conv for channels [ch, ch+n), every tap bounds-checked.
inline void depthwise_pixel(const float* x, int64_t h, int64_t w, int64_t c, const Geometry& g, const float* weight,
                            const float* bias, int act, int64_t oy, int64_t ox, int64_t ch, int n, float* o) {
  Vec acc = Vec::loadu(bias + ch, n);
  for (int64_t i = 0; i < g.kh; ++i) {
    const int64_t iy = oy * g.sh - g.pt + i * g.dh;
    if (iy < 0 || iy >= h) continue;
    for (int64_t j = 0; j < g.kw; ++j) {
      const int64_t ix = ox * g.sw - g.pl + j * g.dw;
      if (ix < 0 || ix >= w) continue;
      acc = at::vec::fmadd(Vec::loadu(x + (iy * w + ix) * c + ch, n), Vec::loadu(weight + (i * g.kw + j) * c + ch, n),
                           acc);
    }
  }
  activate(acc, act).store(o + ch, n);
}

// Pixels computed side by side in the depthwise inner loop (independent accumulators hide the FMA latency).
constexpr int DW_PIXELS = VL >= 16 ? 8 : 4;

// Output pixels [ox0, ox0+P) of row oy, 3×3 taps none of which leaves the image sideways, one vector of
// channels at ch: the 9 weights stay in registers, P accumulators run side by side.
template <int P>
inline void depthwise3x3_run(const float* x, int64_t h, int64_t w, int64_t c, const Geometry& g, const Reg* wv,
                             Reg b, int act, int64_t oy, int64_t ox0, int64_t ch, float* orow) {
  Reg acc[P];
#pragma GCC unroll 8
  for (int q = 0; q < P; ++q) acc[q] = b;
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t iy = oy * g.sh - g.pt + i * g.dh;
    if (iy < 0 || iy >= h) continue;
    const float* xr = x + iy * w * c + ch;
#pragma GCC unroll 3
    for (int64_t j = 0; j < 3; ++j) {
      const Reg wt = wv[i * 3 + j];
#pragma GCC unroll 8
      for (int q = 0; q < P; ++q)
        acc[q] = reg_fma(reg_load(xr + ((ox0 + q) * g.sw - g.pl + j * g.dw) * c), wt, acc[q]);
    }
  }
#pragma GCC unroll 8
  for (int q = 0; q < P; ++q) activate(Vec(acc[q]), act).store(orow + (ox0 + q) * c + ch);
}

// Depthwise convolution of output rows [r0, r1) of one image into `out` (rows × ow × c, dense).
void depthwise_rows(const float* x, int64_t h, int64_t w, int64_t c, const Geometry& g, const float* weight,
                    const float* bias, int act, int64_t r0, int64_t r1, float* out) {
  const bool fast = g.kh == 3 && g.kw == 3;
  // Output columns whose three taps are all inside the image.
  const int64_t lo = std::min(g.ow, (g.pl + g.sw - 1) / g.sw);
  const int64_t hi = std::max(lo, std::min(g.ow, (w - 1 - 2 * g.dw + g.pl) >= 0 ? (w - 1 - 2 * g.dw + g.pl) / g.sw + 1 : 0));
  for (int64_t oy = r0; oy < r1; ++oy) {
    float* orow = out + (oy - r0) * g.ow * c;
    int64_t ch = 0;
    if (fast) {
      for (; ch + VL <= c; ch += VL) {
        Reg wv[9];
        for (int t = 0; t < 9; ++t) wv[t] = reg_load(weight + t * c + ch);
        const Reg b = reg_load(bias + ch);
        for (int64_t ox = 0; ox < lo; ++ox) depthwise_pixel(x, h, w, c, g, weight, bias, act, oy, ox, ch, VL, orow + ox * c);
        int64_t ox = lo;
        for (; ox + DW_PIXELS <= hi; ox += DW_PIXELS) depthwise3x3_run<DW_PIXELS>(x, h, w, c, g, wv, b, act, oy, ox, ch, orow);
        for (; ox < hi; ++ox) depthwise3x3_run<1>(x, h, w, c, g, wv, b, act, oy, ox, ch, orow);
        for (ox = hi; ox < g.ow; ++ox) depthwise_pixel(x, h, w, c, g, weight, bias, act, oy, ox, ch, VL, orow + ox * c);
      }
    }
    for (; ch < c; ch += VL) {
      const int n = static_cast<int>(std::min<int64_t>(VL, c - ch));
      for (int64_t ox = 0; ox < g.ow; ++ox) depthwise_pixel(x, h, w, c, g, weight, bias, act, oy, ox, ch, n, orow + ox * c);
    }
  }
}

// dst[0:n] = src[0:n] for the short runs of an im2col (a first conv's kernel row is 3-9 floats: a call to
// memcpy per run cost more than the copy).
inline void copy_floats(float* dst, const float* src, int64_t n) {
  int64_t i = 0;
  for (; i + VL <= n; i += VL) Vec::loadu(src + i).store(dst + i);
  if (i < n) Vec::loadu(src + i, static_cast<int>(n - i)).store(dst + i, static_cast<int>(n - i));
}

// Output rows per band: as many as keep a band's buffer (its pixels × `channels` floats) within 256 KiB —
// in L2 — so the weights are streamed once per band and bands are few; at least one row.
int64_t band_rows(int64_t ow, int64_t oh, int64_t channels) {
  return std::min(oh, std::max<int64_t>(1, (256 << 10) / (4 * channels * ow)));
}

}  // namespace

at::Tensor pack_weight(const at::Tensor& weight) {
  TORCH_CHECK(weight.scalar_type() == at::kFloat && weight.dim() == 2,
              "weight must be a 2-D float32 (Cout, K) tensor, got ", weight.sizes(), " ", weight.scalar_type());
  const int64_t cout = weight.size(0), k = weight.size(1), nr = vectors_for(cout) * VL, panels = (cout + nr - 1) / nr;
  at::Tensor w = weight.contiguous();
  at::Tensor packed = at::zeros({panels, k, nr}, at::kFloat);
  const float* src = w.const_data_ptr<float>();
  float* dst = packed.data_ptr<float>();
  // Slice by slice of K, every panel's part of a slice after the other: the order gemm reads them in.
  const int64_t kc = slice_length(k);
  for (int64_t k0 = 0; k0 < k; k0 += kc) {
    const int64_t klen = std::min(kc, k - k0);
    for (int64_t j = 0; j < panels; ++j)
      for (int64_t col = 0; col < nr && j * nr + col < cout; ++col)
        for (int64_t p = 0; p < klen; ++p)
          dst[(k0 * panels + j * klen + p) * nr + col] = src[(j * nr + col) * k + k0 + p];
  }
  return packed;
}

int64_t panel_width() { return NR_MAX; }

at::Tensor pad_bias(const c10::optional<at::Tensor>& bias, int64_t cout) {
  return padded_bias(bias, cout).clone();
}

// A k×k convolution (groups = 1): act(conv(x, W) + bias), W packed from (Cout, KH*KW*Cin).
at::Tensor conv_forward(const at::Tensor& x, const at::Tensor& packed, const c10::optional<at::Tensor>& bias,
                        int64_t cout, int64_t kh, int64_t kw, at::IntArrayRef stride, at::IntArrayRef pad,
                        at::IntArrayRef dilation, int64_t act) {
  check_cl(x, "x");
  const int64_t n = x.size(0), cin = x.size(1), h = x.size(2), w = x.size(3), k = kh * kw * cin;
  check_packed(packed, k, cout);
  const int nv = static_cast<int>(packed.size(2) / VL);
  const Geometry g = geometry(x, kh, kw, stride, pad, dilation);
  at::Tensor out = at::empty({n, cout, g.oh, g.ow}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  const at::Tensor b = padded_bias(bias, cout);
  const float *xp = x.const_data_ptr<float>(), *wp = packed.const_data_ptr<float>(), *bp = b.const_data_ptr<float>();
  float* op = out.data_ptr<float>();
  const int a = static_cast<int>(act);
  const bool direct = kh == 1 && kw == 1 && g.sh == 1 && g.sw == 1 && pad[0] == 0 && pad[1] == 0 && pad[2] == 0 &&
                      pad[3] == 0;
  if (direct) {  // a 1×1 conv is one matrix multiply over all pixels
    const int64_t pixels = n * h * w, step = std::max<int64_t>(MR_MAX, (pixels / at::get_num_threads() + MR_MAX - 1) / MR_MAX * MR_MAX);
    at::parallel_for(0, (pixels + step - 1) / step, 1, [&](int64_t b0, int64_t b1) {
      const int64_t m0 = b0 * step, m1 = std::min(pixels, b1 * step);
      gemm(xp + m0 * cin, cin, m1 - m0, wp, nv, k, bp, cout, op + m0 * cout, cout, a);
    });
    return out;
  }
  const int64_t rows = band_rows(g.ow, g.oh, k), bands = (g.oh + rows - 1) / rows;
  at::parallel_for(0, n * bands, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> cols(static_cast<size_t>(rows * g.ow * k));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t img = task / bands, r0 = (task % bands) * rows, r1 = std::min(g.oh, r0 + rows);
      const float* ximg = xp + img * h * w * cin;
      float* col = cols.data();
      const int64_t run = kw * cin;  // one kernel row of one pixel: contiguous in x when dilation is 1
      for (int64_t oy = r0; oy < r1; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox)
          for (int64_t i = 0; i < kh; ++i, col += run) {
            const int64_t iy = oy * g.sh - g.pt + i * g.dh, ix0 = ox * g.sw - g.pl;
            if (iy < 0 || iy >= h) {
              std::fill(col, col + run, 0.f);
            } else if (g.dw == 1 && ix0 >= 0 && ix0 + kw <= w) {
              copy_floats(col, ximg + (iy * w + ix0) * cin, run);
            } else {
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t ix = ix0 + j * g.dw;
                if (ix < 0 || ix >= w)
                  std::fill(col + j * cin, col + (j + 1) * cin, 0.f);
                else
                  copy_floats(col + j * cin, ximg + (iy * w + ix) * cin, cin);
              }
            }
          }
      gemm(cols.data(), k, (r1 - r0) * g.ow, wp, nv, k, bp, cout, op + ((img * g.oh + r0) * g.ow) * cout, cout, a);
    }
  });
  return out;
}

// A depthwise convolution (groups = C, one filter per channel): weight (KH, KW, C).
at::Tensor depthwise_forward(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias,
                             at::IntArrayRef stride, at::IntArrayRef pad, at::IntArrayRef dilation, int64_t act) {
  check_cl(x, "x");
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  TORCH_CHECK(weight.dim() == 3 && weight.size(2) == c && weight.is_contiguous() && weight.scalar_type() == at::kFloat,
              "depthwise weight must be a contiguous float32 (KH, KW, C=", c, ") tensor, got ", weight.sizes());
  const Geometry g = geometry(x, weight.size(0), weight.size(1), stride, pad, dilation);
  at::Tensor out = at::empty({n, c, g.oh, g.ow}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  const at::Tensor b = padded_bias(bias, c);
  const float *xp = x.const_data_ptr<float>(), *wp = weight.const_data_ptr<float>(), *bp = b.const_data_ptr<float>();
  float* op = out.data_ptr<float>();
  const int64_t rows = band_rows(g.ow, g.oh, c), bands = (g.oh + rows - 1) / rows;
  at::parallel_for(0, n * bands, 1, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      const int64_t img = task / bands, r0 = (task % bands) * rows, r1 = std::min(g.oh, r0 + rows);
      depthwise_rows(xp + img * h * w * c, h, w, c, g, wp, bp, static_cast<int>(act), r0, r1,
                     op + ((img * g.oh + r0) * g.ow) * c);
    }
  });
  return out;
}

// act2(pointwise(act1(depthwise(x)))) without writing the depthwise output: band by band through a buffer.
at::Tensor separable_forward(const at::Tensor& x, const at::Tensor& dw_weight, const c10::optional<at::Tensor>& dw_bias,
                             at::IntArrayRef stride, at::IntArrayRef pad, at::IntArrayRef dilation, int64_t dw_act,
                             const at::Tensor& packed, const c10::optional<at::Tensor>& pw_bias, int64_t cout,
                             int64_t pw_act) {
  check_cl(x, "x");
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  TORCH_CHECK(dw_weight.dim() == 3 && dw_weight.size(2) == c && dw_weight.is_contiguous() &&
                  dw_weight.scalar_type() == at::kFloat,
              "depthwise weight must be a contiguous float32 (KH, KW, C=", c, ") tensor, got ", dw_weight.sizes());
  check_packed(packed, c, cout);
  const int nv = static_cast<int>(packed.size(2) / VL);
  const Geometry g = geometry(x, dw_weight.size(0), dw_weight.size(1), stride, pad, dilation);
  at::Tensor out = at::empty({n, cout, g.oh, g.ow}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  const at::Tensor db = padded_bias(dw_bias, c), pb = padded_bias(pw_bias, cout);
  const float *xp = x.const_data_ptr<float>(), *dwp = dw_weight.const_data_ptr<float>(),
              *dbp = db.const_data_ptr<float>(), *wp = packed.const_data_ptr<float>(), *pbp = pb.const_data_ptr<float>();
  float* op = out.data_ptr<float>();
  const int64_t rows = band_rows(g.ow, g.oh, c), bands = (g.oh + rows - 1) / rows;
  at::parallel_for(0, n * bands, 1, [&](int64_t begin, int64_t end) {
    std::vector<float> mid(static_cast<size_t>(rows * g.ow * c));
    for (int64_t task = begin; task < end; ++task) {
      const int64_t img = task / bands, r0 = (task % bands) * rows, r1 = std::min(g.oh, r0 + rows);
      depthwise_rows(xp + img * h * w * c, h, w, c, g, dwp, dbp, static_cast<int>(dw_act), r0, r1, mid.data());
      gemm(mid.data(), c, (r1 - r0) * g.ow, wp, nv, c, pbp, cout, op + ((img * g.oh + r0) * g.ow) * cout, cout,
           static_cast<int>(pw_act));
    }
  });
  return out;
}
