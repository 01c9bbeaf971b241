// The register-blocked fp32 matrix multiply shared by convwise's inference (infer.cpp) and training
// (train.cpp) kernels: C = act(A · W + bias) with W packed once into column panels (see infer.cpp's head for
// the layout), the bias and the activation applied in registers before the store, and C += Aᵀ·B for weight
// gradients. Header-only: each translation unit gets its own copy in an anonymous namespace.
#pragma once

#include <torch/extension.h>
#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

namespace {

using Vec = at::vec::Vectorized<float>;
constexpr int VL = Vec::size();
// The register block: R rows (pixels) × NV vectors of output channels, from a weight panel of NV·VL
// channels. R·NV accumulators + NV weight vectors + a broadcast fit the vector registers. With AVX-512
// (32 registers): 6 × 4 vectors (64 channels) where Cout is a multiple of 64 — 14 × 2 and 8 × 3 were
// 5–10 % slower on MobileNet's 1×1 convs — else 14 × 2 or 14 × 1, so a 32-channel conv does not multiply
// a panel of zeros. With AVX2 or less (16 registers): 6 × 2 or 12 × 1.
constexpr int NV_MAX = VL >= 16 ? 4 : 2;
constexpr int NR_MAX = NV_MAX * VL;
constexpr int rows_for(int nv) { return VL >= 16 ? (nv == 4 ? 6 : 14) : (nv == 2 ? 6 : 12); }
constexpr int MR_MAX = rows_for(1);

// The panel width (in vectors) for Cout output channels.
int vectors_for(int64_t cout) {
  if (NV_MAX == 4 && cout % (4 * VL) == 0) return 4;
  if (cout % (2 * VL) == 0 || cout > VL) return 2;
  return 1;
}

// SELU's constants (selu(x) = SCALE * x for x > 0, SCALE * ALPHA * (exp(x) - 1) otherwise).
constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kSeluScale = 1.0507009873554805f;

// Activations: 0 none, 1 ReLU, 2 ReLU6, 3 SELU (ATen's fast exp, as selu.cpp); act < 0: none.
inline Vec activate(Vec v, int act) {
  if (act == 1) return at::vec::clamp_min(v, Vec(0.f));
  if (act == 2) return at::vec::clamp(v, Vec(0.f), Vec(6.f));
  if (act == 3) {
    const Vec zero(0.f);
    const Vec neg = Vec(kSeluScale * kSeluAlpha) * (at::vec::minimum(v, zero).exp_u20() - Vec(1.f));
    return Vec::blendv(Vec(kSeluScale) * v, neg, v <= zero);  // NaN: scale * NaN
  }
  return v;
}

// The register block's vector type: raw intrinsics where we have them (an array of Vectorized objects is
// spilled to the stack on every step by GCC), Vectorized itself elsewhere.
#if defined(CPU_CAPABILITY_AVX512)
using Reg = __m512;
inline Reg reg_load(const float* p) { return _mm512_loadu_ps(p); }
inline Reg reg_fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
inline Reg reg_set(float v) { return _mm512_set1_ps(v); }
#elif defined(CPU_CAPABILITY_AVX2)
using Reg = __m256;
inline Reg reg_load(const float* p) { return _mm256_loadu_ps(p); }
inline Reg reg_fma(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
inline Reg reg_set(float v) { return _mm256_set1_ps(v); }
#else
using Reg = Vec;
inline Reg reg_load(const float* p) { return Vec::loadu(p); }
inline Reg reg_fma(Reg a, Reg b, Reg c) { return at::vec::fmadd(a, b, c); }
inline Reg reg_set(float v) { return Vec(v); }
#endif

// C[0:R, 0:cols] = act(A[0:R, 0:K] · panel + start), R ≤ MR, cols ≤ NR, where start is the bias (when
// `bias` is given) or C itself (a later slice of K); act < 0 stores without an activation (more K to come).
template <int R, int NV>
void micro(const float* a, int64_t lda, const float* panel, int64_t k, const float* bias, float* c,
           int64_t ldc, int64_t cols, int act) {
  Reg acc[R][NV];
  int width[NV];  // valid channels of each vector of the block
  for (int v = 0; v < NV; ++v) width[v] = static_cast<int>(std::clamp<int64_t>(cols - v * VL, 0, VL));
  if (bias != nullptr) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const Reg b = reg_load(bias + v * VL);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) acc[r][v] = b;
    }
  } else {
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        acc[r][v] = width[v] > 0 ? Reg(Vec::loadu(c + r * ldc + v * VL, width[v])) : Reg(Vec(0.f));
  }
  for (int64_t p = 0; p < k; ++p) {
    Reg w[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) w[v] = reg_load(panel + p * NV * VL + v * VL);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const Reg x = reg_set(a[r * lda + p]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = reg_fma(x, w[v], acc[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const Vec out = activate(Vec(acc[r][v]), act);
      if (width[v] == VL)
        out.store(c + r * ldc + v * VL);
      else if (width[v] > 0)
        out.store(c + r * ldc + v * VL, width[v]);
    }
}

using Micro = void (*)(const float*, int64_t, const float*, int64_t, const float*, float*, int64_t, int64_t, int);

template <int NV, int... Rs>
constexpr std::array<Micro, sizeof...(Rs)> micro_table(std::integer_sequence<int, Rs...>) {
  return {&micro<Rs + 1, NV>...};
}
// MICRO[nv - 1][r - 1]: the block of r rows and nv vectors (r ≤ rows_for(nv)); unused entries are null.
template <int NV>
constexpr std::array<Micro, MR_MAX> micro_row() {
  std::array<Micro, MR_MAX> out{};
  constexpr auto some = micro_table<NV>(std::make_integer_sequence<int, rows_for(NV)>{});
  for (size_t i = 0; i < some.size(); ++i) out[i] = some[i];
  return out;
}
const std::array<std::array<Micro, MR_MAX>, 4> MICRO = {micro_row<1>(), micro_row<2>(),
                                                        std::array<Micro, MR_MAX>{},
                                                        NV_MAX == 4 ? micro_row<NV_MAX>() : std::array<Micro, MR_MAX>{}};

// A weight packed by pack_weight (infer.cpp) for K inputs and Cout outputs.
inline void check_packed(const at::Tensor& packed, int64_t k, int64_t cout) {
  TORCH_CHECK(packed.dim() == 3 && packed.size(1) == k && packed.size(2) == vectors_for(cout) * VL &&
                  packed.size(0) * packed.size(2) >= cout && packed.scalar_type() == at::kFloat && packed.is_contiguous(),
              "packed weight ", packed.sizes(), " does not match K = ", k, " and Cout = ", cout, " (use pack_weight)");
}

// K is taken in slices of KC: a slice of a weight panel (KC × NR floats) stays in L1 while every row block
// of the chunk passes over it; partial sums wait in C between slices.
constexpr int64_t KC = VL >= 16 ? 256 : 128;

// The slice length for a K: one slice when K is at most 1.5 slices, otherwise slices of nearly equal size.
int64_t slice_length(int64_t k) {
  const int64_t slices = k <= KC + KC / 2 ? 1 : (k + KC - 1) / KC;
  return (k + slices - 1) / slices;
}

// C (rows × cout, leading dimension ldc) = act(A (rows × k, lda) · W + bias) with W packed as above in panels of
// nv vectors.
void gemm(const float* a, int64_t lda, int64_t rows, const float* packed, int nv, int64_t k, const float* bias_padded,
          int64_t cout, float* c, int64_t ldc, int act) {
  const int64_t nr = nv * VL, mr = rows_for(nv), panels = (cout + nr - 1) / nr, kc = slice_length(k);
  const auto& micro_rows = MICRO[nv - 1];
  // Rows in chunks of about 128 KiB of A (one slice), so a chunk stays in L2 while every panel passes over it.
  const int64_t chunk = std::max<int64_t>(mr, ((128 << 10) / (4 * std::max<int64_t>(kc, 1))) / mr * mr);
  for (int64_t m0 = 0; m0 < rows; m0 += chunk) {
    const int64_t m1 = std::min(rows, m0 + chunk);
    // Blocks of nearly equal height (49 rows in blocks of 14: 13+12+12+12, not 14+14+14+7).
    const int64_t blocks = (m1 - m0 + mr - 1) / mr, base = (m1 - m0) / blocks, extra = (m1 - m0) % blocks;
    for (int64_t k0 = 0; k0 < k; k0 += kc) {
      const int64_t klen = std::min(kc, k - k0);
      const bool last = k0 + klen >= k;
      for (int64_t j = 0; j < panels; ++j) {
        const float* panel = packed + (k0 * panels + j * klen) * nr;
        const int64_t cols = std::min<int64_t>(nr, cout - j * nr);
        const float* start = k0 == 0 ? bias_padded + j * nr : nullptr;
        // The weights that come next (the next panel's part of this slice, or the next slice's first
        // panel, which follow in memory), requested a share per row block while this panel is computed:
        // a layer's weights are usually not in cache (the layers before it ran through other weights).
        const int64_t next_len = j + 1 < panels ? klen : std::min(kc, k - k0 - klen);
        const char* next = reinterpret_cast<const char*>(panel + klen * nr);
        const int64_t lines = (next_len > 0 && (j + 1 < panels || !last)) ? next_len * nr * 4 / 64 : 0;
        const int64_t per_block = (lines + blocks - 1) / blocks;
        for (int64_t blk = 0, m = m0; blk < blocks; ++blk) {
          const int64_t r = base + (blk < extra ? 1 : 0);
          for (int64_t line = blk * per_block; line < std::min(lines, (blk + 1) * per_block); ++line)
            __builtin_prefetch(next + line * 64, 0, 2);
          micro_rows[r - 1](a + m * lda + k0, lda, panel, klen, start, c + m * ldc + j * nr, ldc, cols,
                            last ? act : -1);
          m += r;
        }
      }
    }
  }
}

}  // namespace
