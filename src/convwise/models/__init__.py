"""Model zoo (architectures as data, built from `convwise.layers`), TARGET and checkpoint loading."""

from convwise.models import dscnn as _dscnn  # noqa: F401  (registers the model)
from convwise.models import fashion as _fashion  # noqa: F401  (registers the model)
from convwise.models import kws as _kws  # noqa: F401  (registers the model)
from convwise.models import mobilenet as _mobilenet  # noqa: F401  (registers the model)
from convwise.models import mobilenetv2 as _mobilenetv2  # noqa: F401  (registers the model)
from convwise.models.checkpoint import is_checkpoint_path, load_checkpoint, read_checkpoint
from convwise.models.registry import ModelEntry, build, get_entry, list_models, register
from convwise.models.source import Source, load_source, require_input_shape
from convwise.models.target import LoadedModel, load_target, resolve_target

__all__ = [
    "LoadedModel",
    "ModelEntry",
    "Source",
    "build",
    "get_entry",
    "is_checkpoint_path",
    "list_models",
    "load_checkpoint",
    "load_source",
    "load_target",
    "read_checkpoint",
    "register",
    "require_input_shape",
    "resolve_target",
]
