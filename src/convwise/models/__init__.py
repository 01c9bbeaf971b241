"""Model zoo (architectures as data, built from `convwise.layers`) and TARGET resolution."""

from convwise.models import dscnn as _dscnn  # noqa: F401  (registers the model)
from convwise.models import fashion as _fashion  # noqa: F401  (registers the model)
from convwise.models import kws as _kws  # noqa: F401  (registers the model)
from convwise.models import mobilenet as _mobilenet  # noqa: F401  (registers the model)
from convwise.models import mobilenetv2 as _mobilenetv2  # noqa: F401  (registers the model)
from convwise.models.registry import ModelEntry, build, get_entry, list_models, register
from convwise.models.target import LoadedModel, load_target, resolve_target

__all__ = [
    "LoadedModel",
    "ModelEntry",
    "build",
    "get_entry",
    "list_models",
    "load_target",
    "register",
    "resolve_target",
]
