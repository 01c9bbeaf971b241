// The Python module of convwise's C++ kernels (selu.cpp, maxpool.cpp), built by convwise.layers.native.
#include <torch/extension.h>

#include <tuple>

at::Tensor selu_forward(const at::Tensor& x);
at::Tensor selu_backward(const at::Tensor& grad, const at::Tensor& y);
void bias_selu_(at::Tensor& m, const c10::optional<at::Tensor>& bias);
std::tuple<at::Tensor, at::Tensor> selu_backward_colsum(const at::Tensor& grad, const at::Tensor& y);
std::tuple<at::Tensor, at::Tensor> maxpool2x2_forward(const at::Tensor& x);
at::Tensor maxpool2x2_backward(const at::Tensor& g, const at::Tensor& code, int64_t h, int64_t w);

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("selu_forward", &selu_forward, "SELU of a dense float32 CPU tensor");
  m.def("selu_backward", &selu_backward, "SELU's input gradient from the output gradient and the output");
  m.def("bias_selu_", &bias_selu_, "In place over a contiguous (R, C) float32 matrix: selu(m + bias)");
  m.def("selu_backward_colsum", &selu_backward_colsum,
        "SELU's input gradient from (R, C) grad and output, and its column sums, in one pass");
  m.def("maxpool2x2_forward", &maxpool2x2_forward,
        "2x2/stride-2 max pool of a channels-last float32 tensor: the output and a byte per output (the tap)");
  m.def("maxpool2x2_backward", &maxpool2x2_backward,
        "The input gradient of maxpool2x2_forward from the output gradient, the bytes and the input size");
}
