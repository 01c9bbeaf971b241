// Argument checks shared by convwise's kernels: each names the argument, what it must be, and what it got.
#pragma once

#include <torch/extension.h>

namespace {

// A float32 CPU tensor of 4 dimensions in channels-last memory.
inline void check_cl(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.device().is_cpu() && t.scalar_type() == at::kFloat, name,
              " must be a float32 CPU tensor, got ", t.scalar_type(), " on ", t.device());
  TORCH_CHECK(t.dim() == 4 && t.is_contiguous(at::MemoryFormat::ChannelsLast), name,
              " must be a 4-D channels-last tensor, got sizes ", t.sizes(), " and strides ", t.strides());
}

}  // namespace
