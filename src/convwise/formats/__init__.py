"""Model files — ONNX, Keras and TFLite — read into the same exact, explained `convwise.profile.Report`.

Each reader turns a file into layer records (`convwise.formats.record`) whose costs come from
`convwise.core` and the profiler's formula table, so a model file and the PyTorch model it came from are
counted with the same conventions.
"""

from convwise.formats.keras_file import keras_summary
from convwise.formats.load import MODEL_FILE_SUFFIXES, is_model_file, read_model_file, summarize_file

__all__ = ["MODEL_FILE_SUFFIXES", "is_model_file", "keras_summary", "read_model_file", "summarize_file"]
