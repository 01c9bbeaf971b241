"""Pictures: figures of each convolution variant, model graph diagrams and the self-contained HTML report.

>>> from convwise.core import make_spec
>>> from convwise.viz import draw_layer
>>> svg = draw_layer(make_spec("separable", 4, 10, 3), (4, 5, 5)).to_svg()
>>> "params 90 · multiplications 684" in svg
True

SVG is written by hand (standard library only); PNG needs matplotlib (`pip install "convwise[viz]"`).
torch is imported only by the functions that need a model (`model_graph`, `report_data`).
"""

from convwise.viz.canvas import Canvas
from convwise.viz.diagram import ModelGraph, draw_graph, draw_model, model_graph
from convwise.viz.draw import draw_cost, draw_layer
from convwise.viz.panels import DrawOptions
from convwise.viz.report import read_run, render_html, report_data, write_report

__all__ = [
    "Canvas",
    "DrawOptions",
    "ModelGraph",
    "draw_cost",
    "draw_graph",
    "draw_layer",
    "draw_model",
    "model_graph",
    "read_run",
    "render_html",
    "report_data",
    "write_report",
]
