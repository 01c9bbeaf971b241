"""Published cost figures, as printed in the papers (and their sources): data only, no counting.

MobileNet v1 — A. G. Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile
Vision Applications", arXiv:1704.04861 (2017): Table 2 (resources per layer type), Table 3 (one layer,
14×14×512 → 512, 3×3), Table 4 (full conv vs separable), Table 6 (width multiplier), Table 7 (resolution).
MobileNet v2 — the TF-slim checkpoints' table. DS-CNN — Y. Zhang, N. Suda, L. Lai, V. Chandra, "Hello
Edge: Keyword Spotting on Microcontrollers", arXiv:1711.07128 (2017): the summary of the best DS-CNN models
(memory in KB of 8-bit weights and activations, operations per inference), also in the README table of
ARM-software/ML-KWS-for-MCU.
"""

from __future__ import annotations

MOBILENET_SOURCE = (
    'A. G. Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision '
    'Applications", arXiv:1704.04861 (2017)'
)
MOBILENETV2_SOURCE = (
    'M. Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", arXiv:1801.04381 '
    "(2018); figures of the published checkpoints from tensorflow/models research/slim/nets/mobilenet/"
    "README.md (MobileNet V2 ImageNet checkpoints, 1001 classes)"
)
DSCNN_SOURCE = (
    'Y. Zhang, N. Suda, L. Lai, V. Chandra, "Hello Edge: Keyword Spotting on Microcontrollers", '
    "arXiv:1711.07128 (2017); architectures from ARM-software/ML-KWS-for-MCU train_commands.txt and "
    "models.py (create_ds_cnn_model)"
)

#: Table 4: (label, conv kind, million Mult-Adds, million params).
MOBILENET_TABLE4: tuple[tuple[str, str, float, float], ...] = (
    ("Conv MobileNet", "standard", 4866, 29.3),
    ("MobileNet", "separable", 569, 4.2),
)
#: Table 6: (width multiplier, million Mult-Adds, million params), all at 224.
MOBILENET_TABLE6: tuple[tuple[float, float, float], ...] = (
    (1.0, 569, 4.2),
    (0.75, 325, 2.6),
    (0.5, 149, 1.3),
    (0.25, 41, 0.5),
)
#: Table 7: (resolution, million Mult-Adds, million params), α = 1.
MOBILENET_TABLE7: tuple[tuple[int, float, float], ...] = (
    (224, 569, 4.2),
    (192, 418, 4.2),
    (160, 290, 4.2),
    (128, 186, 4.2),
)
#: TensorFlow's own checkpoint table (tensorflow/models research/slim/nets/mobilenet_v1.md): million
#: Mult-Adds of MobileNet_v1_1.0_160.
MOBILENET_V1_160_TF_CHECKPOINT = 291
#: Table 2: (layer type, % of Mult-Adds, % of parameters).
MOBILENET_TABLE2: tuple[tuple[str, float, float], ...] = (
    ("Conv 1×1", 94.86, 74.59),
    ("Conv DW 3×3", 3.06, 1.06),
    ("Conv 3×3", 1.19, 0.02),
    ("Fully Connected", 0.18, 24.33),
)
#: Table 3: (layer, million Mult-Adds, million params) for 14×14×512 → 512, 3×3.
MOBILENET_TABLE3: tuple[tuple[str, float, float], ...] = (
    ("Convolution", 462, 2.36),
    ("Depthwise Separable Conv", 52.3, 0.27),
    ("α = 0.75", 29.6, 0.15),
    ("ρ = 0.714", 15.1, 0.15),
)
#: MobileNet v2 checkpoints: (width multiplier, resolution, million MACs, million params).
MOBILENETV2_CHECKPOINTS: tuple[tuple[float, int, float, float], ...] = (
    (1.4, 224, 582, 6.06),
    (1.3, 224, 509, 5.34),
    (1.0, 224, 300, 3.47),
    (1.0, 192, 221, 3.47),
    (1.0, 160, 154, 3.47),
    (1.0, 128, 99, 3.47),
    (1.0, 96, 56, 3.47),
    (0.75, 224, 209, 2.61),
    (0.5, 224, 97, 1.95),
    (0.35, 224, 59, 1.66),
)
#: (size, memory KB, million operations, accuracy %) of the Hello Edge summary of best models.
DSCNN_PUBLISHED: tuple[tuple[str, float, float, float], ...] = (
    ("S", 38.6, 5.4, 94.4),
    ("M", 189.2, 19.8, 94.9),
    ("L", 497.6, 56.9, 95.4),
)
