"""Export: ONNX with a dynamic batch axis, int8 quantisation (dynamic, static QDQ), TFLite, verified.

Heavy optional packages (onnx, onnxruntime, litert-torch) are imported only inside the functions that
need them; importing this package needs torch alone. The model to export comes from
`convwise.models.load_source` (a checkpoint or a TARGET).
"""

from convwise.export.pipeline import ExportReport, export_model, format_for, load_eval_data

__all__ = ["ExportReport", "export_model", "format_for", "load_eval_data"]
