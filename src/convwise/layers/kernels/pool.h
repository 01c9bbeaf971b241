// One row of 2×2 / stride-2 max pooling on channels-last fp32 rows, shared by maxpool.cpp and the fused
// conv + pool kernels of train.cpp: the maximum of each window and which of its four taps held it, one
// byte per output element (0: (0,0), 1: (0,1), 2: (1,0), 3: (1,1)) — PyTorch's choice: the first maximum
// in that order, a NaN winning over numbers (a later NaN over an earlier one).
#pragma once

#include <torch/extension.h>
#include <ATen/cpu/vec/vec.h>

#include <cmath>
#include <cstdint>

namespace {

// The winner bytes of a pool of (n, c, ho, wo) outputs, as pool_row writes them: (n, ho, wo, c), contiguous.
inline void check_pool_code(const at::Tensor& code, int64_t n, int64_t ho, int64_t wo, int64_t c) {
  TORCH_CHECK(code.scalar_type() == at::kByte && code.is_contiguous() && code.dim() == 4 && code.size(0) == n &&
                  code.size(1) == ho && code.size(2) == wo && code.size(3) == c,
              "code must be the forward's (N, Ho, Wo, C) bytes, got ", code.scalar_type(), " sizes ", code.sizes());
}

// Output row (wo windows × c channels) from input rows `top` and `bottom` (each ≥ 2·wo pixels × c).
inline void pool_row(const float* top, const float* bottom, int64_t wo, int64_t c, float* out, uint8_t* code) {
  using V = at::vec::Vectorized<float>;
  const int64_t vend = c - c % V::size();
  float idx[V::size()];
  for (int64_t ow = 0; ow < wo; ++ow) {
    const float* t[4] = {top + 2 * ow * c, top + (2 * ow + 1) * c, bottom + 2 * ow * c, bottom + (2 * ow + 1) * c};
    float* o = out + ow * c;
    uint8_t* k = code + ow * c;
    for (int64_t ch = 0; ch < vend; ch += V::size()) {
      V best = V::loadu(t[0] + ch), which(0.f);
      for (int tap = 1; tap < 4; ++tap) {
        const V v = V::loadu(t[tap] + ch);
        const V take = (v > best) | v.isnan();
        best = V::blendv(best, v, take);
        which = V::blendv(which, V(static_cast<float>(tap)), take);
      }
      best.store(o + ch);
      which.store(idx);
      for (int64_t l = 0; l < V::size(); ++l) k[ch + l] = static_cast<uint8_t>(idx[l]);
    }
    for (int64_t ch = vend; ch < c; ++ch) {
      float best = t[0][ch];
      uint8_t which = 0;
      for (int tap = 1; tap < 4; ++tap) {
        const float v = t[tap][ch];
        if (v > best || std::isnan(v)) {
          best = v;
          which = static_cast<uint8_t>(tap);
        }
      }
      o[ch] = best;
      k[ch] = which;
    }
  }
}

}  // namespace
