// The Python module of convwise's C++ kernels (selu.cpp, maxpool.cpp, infer.cpp, train.cpp), built by
// convwise.layers.native.
#include <torch/extension.h>

#include <tuple>

at::Tensor selu_forward(const at::Tensor& x);
at::Tensor selu_backward(const at::Tensor& grad, const at::Tensor& y);
void bias_selu_(at::Tensor& m, const c10::optional<at::Tensor>& bias);
std::tuple<at::Tensor, at::Tensor> selu_backward_colsum(const at::Tensor& grad, const at::Tensor& y);
std::tuple<at::Tensor, at::Tensor> maxpool2x2_forward(const at::Tensor& x);
at::Tensor maxpool2x2_backward(const at::Tensor& g, const at::Tensor& code, int64_t h, int64_t w);
at::Tensor pack_weight(const at::Tensor& weight);
int64_t panel_width();
at::Tensor pad_bias(const c10::optional<at::Tensor>& bias, int64_t cout);
at::Tensor conv_forward(const at::Tensor& x, const at::Tensor& packed, const c10::optional<at::Tensor>& bias,
                        int64_t cout, int64_t kh, int64_t kw, at::IntArrayRef stride, at::IntArrayRef pad,
                        at::IntArrayRef dilation, int64_t act);
at::Tensor depthwise_forward(const at::Tensor& x, const at::Tensor& weight, const c10::optional<at::Tensor>& bias,
                             at::IntArrayRef stride, at::IntArrayRef pad, at::IntArrayRef dilation, int64_t act);
at::Tensor separable_forward(const at::Tensor& x, const at::Tensor& dw_weight,
                             const c10::optional<at::Tensor>& dw_bias, at::IntArrayRef stride, at::IntArrayRef pad,
                             at::IntArrayRef dilation, int64_t dw_act, const at::Tensor& packed,
                             const c10::optional<at::Tensor>& pw_bias, int64_t cout, int64_t pw_act);
std::tuple<at::Tensor, at::Tensor, at::Tensor> pointwise_backward(const at::Tensor& grad,
                                                                  const c10::optional<at::Tensor>& y,
                                                                  const at::Tensor& x, const at::Tensor& weight,
                                                                  bool input_grad, bool weight_grad, bool bias_grad);
int64_t backward_multiple();
std::tuple<at::Tensor, at::Tensor> pointwise_pool_forward(const at::Tensor& x, const at::Tensor& packed,
                                                          const c10::optional<at::Tensor>& bias, int64_t cout,
                                                          int64_t act);
std::tuple<at::Tensor, at::Tensor, at::Tensor> pointwise_pool_backward(
    const at::Tensor& grad, const c10::optional<at::Tensor>& y, const at::Tensor& code, const at::Tensor& x,
    const at::Tensor& weight, bool input_grad, bool weight_grad, bool bias_grad);

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
  m.def("pack_weight", &pack_weight, "A (Cout, K) float32 conv weight as column panels for conv_forward");
  m.def("panel_width", &panel_width, "Output channels per weight panel");
  m.def("pad_bias", &pad_bias, "A bias (or none: zeros) padded to whole panels, as the kernels read it");
  m.def("conv_forward", &conv_forward,
        "act(conv(x) + bias) of a channels-last float32 tensor, groups 1, pads (top, left, bottom, right)");
  m.def("depthwise_forward", &depthwise_forward, "act(depthwise conv(x) + bias), weight (KH, KW, C)");
  m.def("separable_forward", &separable_forward,
        "act2(pointwise(act1(depthwise(x)))) without writing the depthwise output to memory");
  m.def("pointwise_backward", &pointwise_backward,
        "(dx, dW, db) of y = act(x @ W.T + b), act SELU (from y) or none, in one pass over the rows");
  m.def("backward_multiple", &backward_multiple,
        "pointwise_backward's weight gradient needs Cin or Cout to be a multiple of this");
  m.def("pointwise_pool_forward", &pointwise_pool_forward,
        "maxpool2x2(act(conv1x1(x) + bias)) without the full-size output in memory: (pooled, winner bytes)");
  m.def("pointwise_pool_backward", &pointwise_pool_backward,
        "(dx, dW, db) of pointwise_pool_forward from the pooled gradient, pooled output and winners");
}
