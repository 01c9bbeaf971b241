"""The known image data sets (Fashion-MNIST, MNIST): their files, checksums and where to look for them.

>>> from convwise.data.datasets import get_spec
>>> spec = get_spec("fashion")  # an alias
>>> spec.name, spec.num_classes, spec.classes[0], spec.system_dirs, spec.files["test_images"].shape
('fashion-mnist', 10, 'T-shirt/top', ('/usr/share/datasets/fashion-mnist',), (10000, 28, 28))
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from convwise.core.errors import ConfigError, config_error

ROLES: tuple[str, ...] = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class FileSpec:
    """One IDX file of a data set: its name (without .gz) and the SHA-256 of its decompressed content."""

    name: str
    sha256: str
    shape: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class DatasetSpec:
    """A data set made of four IDX files, with the mirrors it can be downloaded from.

    Attributes:
        name: the data set's name, also the name of its folder (`fashion-mnist`).
        files: role (one of `ROLES`) -> file.
        classes: class names, index = label.
        mirrors: base URLs; a file is at `mirror + name + ".gz"`.
        system_dirs: folders where an OS package installs the files (Debian's `dataset-fashion-mnist`).
        apt_package: the Debian package that provides them, if any.
    """

    name: str
    files: dict[str, FileSpec]
    classes: tuple[str, ...]
    mirrors: tuple[str, ...] = ()
    system_dirs: tuple[str, ...] = ()
    apt_package: str | None = None
    aliases: tuple[str, ...] = field(default=())

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)


FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    files={
        "train_images": FileSpec(
            "train-images-idx3-ubyte",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            (60000, 28, 28),
        ),
        "train_labels": FileSpec(
            "train-labels-idx1-ubyte",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            (60000,),
        ),
        "test_images": FileSpec(
            "t10k-images-idx3-ubyte",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            (10000, 28, 28),
        ),
        "test_labels": FileSpec(
            "t10k-labels-idx1-ubyte",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            (10000,),
        ),
    },
    classes=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    apt_package="dataset-fashion-mnist",
    aliases=("fashion_mnist", "fashion"),
)

MNIST = DatasetSpec(
    name="mnist",
    files={
        "train_images": FileSpec(
            "train-images-idx3-ubyte",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            (60000, 28, 28),
        ),
        "train_labels": FileSpec(
            "train-labels-idx1-ubyte",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            (60000,),
        ),
        "test_images": FileSpec(
            "t10k-images-idx3-ubyte",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            (10000, 28, 28),
        ),
        "test_labels": FileSpec(
            "t10k-labels-idx1-ubyte",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            (10000,),
        ),
    },
    classes=tuple(str(d) for d in range(10)),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    system_dirs=(),
    apt_package=None,
)

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (FASHION_MNIST, MNIST)}


def get_spec(name: str) -> DatasetSpec:
    """The `DatasetSpec` of a data set by name (`fashion-mnist`, `mnist`; `fashion_mnist` also accepted).

    Raises:
        ConfigError: unknown name.
    """
    key = name.strip().lower()
    for spec in DATASETS.values():
        if key == spec.name or key in spec.aliases:
            return spec
    raise config_error(f"`dataset` must be one of {', '.join(sorted(DATASETS))}.", dataset=name)


def user_cache_dir() -> Path:
    """Where downloaded data sets go: `$XDG_CACHE_HOME/convwise/datasets` (default `~/.cache/...`)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "convwise" / "datasets"


def find_file(folder: Path, file: FileSpec) -> Path | None:
    """The path of `file` in `folder`, gzip (`name.gz`) preferred over raw (`name`), or None."""
    for candidate in (folder / f"{file.name}.gz", folder / file.name):
        if candidate.is_file():
            return candidate
    return None


def folder_has_dataset(folder: Path, spec: DatasetSpec) -> bool:
    """True when `folder` holds all four files of `spec` (gzip or raw)."""
    return all(find_file(folder, f) is not None for f in spec.files.values())


__all__ = [
    "DATASETS",
    "FASHION_MNIST",
    "MNIST",
    "ROLES",
    "ConfigError",
    "DatasetSpec",
    "FileSpec",
    "find_file",
    "folder_has_dataset",
    "get_spec",
    "user_cache_dir",
]
