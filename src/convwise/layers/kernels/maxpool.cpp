// 2×2 max pooling with stride 2 (no padding, floor mode) on channels-last fp32 CPU tensors, forward and
// backward, vectorised over channels with ATen's Vectorized<float>. Built on first use by
// convwise.layers.native.
//
// x is (N, C, H, W) in channels-last memory: element (n, h, w, c) at ((n*H + h)*W + w)*C + c. The forward
// writes the maximum of each window and, per output element, which of the four taps held it as one byte
// (0: (0,0), 1: (0,1), 2: (1,0), 3: (1,1)) — PyTorch's choice: the first maximum in that order, a NaN
// winning over numbers (a later NaN over an earlier one). ATen keeps an int64 index per output element and
// its backward zero-fills the input gradient before scattering into it; here the backward writes every
// input-gradient element once, from the byte.
#include <torch/extension.h>
#include <ATen/Parallel.h>
#include <ATen/cpu/vec/vec.h>

#include <cmath>
#include <tuple>

#include "checks.h"
#include "pool.h"

namespace {

using Vec = at::vec::Vectorized<float>;

}  // namespace

std::tuple<at::Tensor, at::Tensor> maxpool2x2_forward(const at::Tensor& x) {
  check_cl(x, "x");
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), ho = h / 2, wo = w / 2;
  TORCH_CHECK(ho > 0 && wo > 0, "x must be at least 2x2, got sizes ", x.sizes());
  at::Tensor out = at::empty({n, c, ho, wo}, x.options().memory_format(at::MemoryFormat::ChannelsLast));
  at::Tensor code = at::empty({n, ho, wo, c}, x.options().dtype(at::kByte));
  const float* xp = x.const_data_ptr<float>();
  float* op = out.data_ptr<float>();
  uint8_t* cp = code.data_ptr<uint8_t>();
  at::parallel_for(0, n * ho, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / ho, oh = row % ho;
      const float* top = xp + ((b * h + 2 * oh) * w) * c;
      const float* bottom = top + w * c;
      pool_row(top, bottom, wo, c, op + row * wo * c, cp + row * wo * c);
    }
  });
  return {out, code};
}

// The input gradient (N, C, h, w) from the output gradient g and the forward's bytes.
at::Tensor maxpool2x2_backward(const at::Tensor& g, const at::Tensor& code, int64_t h, int64_t w) {
  check_cl(g, "grad");
  const int64_t n = g.size(0), c = g.size(1), ho = g.size(2), wo = g.size(3);
  TORCH_CHECK(ho == h / 2 && wo == w / 2, "grad must be the 2x2 pool of a ", h, "x", w, " input, got sizes ",
              g.sizes());
  check_pool_code(code, n, ho, wo, c);
  at::Tensor gi = at::empty({n, c, h, w}, g.options().memory_format(at::MemoryFormat::ChannelsLast));
  const float* gp = g.const_data_ptr<float>();
  const uint8_t* cp = code.const_data_ptr<uint8_t>();
  float* ip = gi.data_ptr<float>();
  const int64_t vend = c - c % Vec::size();
  // one task per input row: rows 2*oh and 2*oh + 1 take the output row oh; an odd last row gets zeros
  at::parallel_for(0, n * h, 1, [&](int64_t begin, int64_t end) {
    float idx[Vec::size()];
    for (int64_t irow = begin; irow < end; ++irow) {
      const int64_t b = irow / h, ih = irow % h, oh = ih / 2, dy = ih % 2;
      float* dst = ip + irow * w * c;
      if (oh >= ho) {  // the row floor mode dropped
        std::fill(dst, dst + w * c, 0.f);
        continue;
      }
      const float* grow = gp + ((b * ho + oh) * wo) * c;
      const uint8_t* krow = cp + ((b * ho + oh) * wo) * c;
      const Vec zero(0.f), left(static_cast<float>(2 * dy)), right(static_cast<float>(2 * dy + 1));
      for (int64_t ow = 0; ow < wo; ++ow) {
        const float* gs = grow + ow * c;
        const uint8_t* ks = krow + ow * c;
        float* d0 = dst + 2 * ow * c;
        float* d1 = d0 + c;
        for (int64_t ch = 0; ch < vend; ch += Vec::size()) {
          for (int64_t l = 0; l < Vec::size(); ++l) idx[l] = static_cast<float>(ks[ch + l]);
          const Vec gv = Vec::loadu(gs + ch), kv = Vec::loadu(idx);
          Vec::blendv(zero, gv, kv == left).store(d0 + ch);
          Vec::blendv(zero, gv, kv == right).store(d1 + ch);
        }
        for (int64_t ch = vend; ch < c; ++ch) {
          d0[ch] = ks[ch] == 2 * dy ? gs[ch] : 0.f;
          d1[ch] = ks[ch] == 2 * dy + 1 ? gs[ch] : 0.f;
        }
      }
      if (w % 2) std::fill(dst + (w - 1) * c, dst + w * c, 0.f);  // the column floor mode dropped
    }
  });
  return gi;
}
