"""Where a data set is found: --data-dir, $CONVWISE_DATA_DIR, user cache, OS package, then download.

>>> from convwise.data.datasets import get_spec
>>> [(origin, str(folder)) for origin, folder in search_path(get_spec("mnist"), "/data")][:2]
[('--data-dir', '/data'), ('--data-dir', '/data/mnist')]
"""

from __future__ import annotations

import os
from pathlib import Path

from convwise.core.errors import ConfigError
from convwise.data.datasets import DatasetSpec, folder_has_dataset, get_spec, user_cache_dir

ENV_DATA_DIR = "CONVWISE_DATA_DIR"
ENV_NO_DOWNLOAD = "CONVWISE_NO_DOWNLOAD"


def _candidates(folder: Path, spec: DatasetSpec) -> list[Path]:
    """A data root may hold the files directly or in a sub-folder named after the data set."""
    return [folder, folder / spec.name, *(folder / alias for alias in spec.aliases)]


def search_path(spec: DatasetSpec, data_dir: str | Path | None = None) -> list[tuple[str, Path]]:
    """The folders searched for `spec`, in order, each with the reason it is searched.

    Args:
        spec: the data set.
        data_dir: the user's explicit folder (`--data-dir`); when given, it is the only place searched.

    Returns:
        (origin, folder) pairs.
    """
    if data_dir is not None:
        return [("--data-dir", p) for p in _candidates(Path(data_dir).expanduser(), spec)]
    places: list[tuple[str, Path]] = []
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        places += [(f"${ENV_DATA_DIR}", p) for p in _candidates(Path(env).expanduser(), spec)]
    places.append(("user cache", user_cache_dir() / spec.name))
    places += [(f"package {spec.apt_package}", Path(d)) for d in spec.system_dirs]
    return places


def locate_dataset(
    dataset: str | DatasetSpec, data_dir: str | Path | None = None, *, download: bool | None = None
) -> Path:
    """The folder holding all four IDX files of `dataset`, downloading them into the user cache if needed.

    Lookup order: `data_dir` (exclusively, when given), `$CONVWISE_DATA_DIR`, the user cache
    (`~/.cache/convwise/datasets/NAME`), the folder of the Debian package (`/usr/share/datasets/...`),
    then a download into the user cache (checksummed, atomic) unless `download` is False or
    `$CONVWISE_NO_DOWNLOAD` is set.

    Args:
        dataset: name or spec.
        data_dir: explicit folder (also accepts a parent holding a folder named after the data set).
        download: allow a download; None means yes unless `$CONVWISE_NO_DOWNLOAD` is set.

    Returns:
        The folder. The files' checksums are verified when they are read.

    Raises:
        ConfigError: nothing found and no download possible; the message lists every place searched.
    """
    spec = get_spec(dataset) if isinstance(dataset, str) else dataset
    places = search_path(spec, data_dir)
    for _origin, folder in places:
        if folder_has_dataset(folder, spec):
            return folder
    if download is None:
        download = not os.environ.get(ENV_NO_DOWNLOAD)
    download_note = "download disabled"
    if data_dir is None and download and spec.mirrors:
        from convwise.data.download import download_dataset

        target = user_cache_dir() / spec.name
        try:
            return download_dataset(spec, target)
        except OSError as exc:
            download_note = f"download into {target} failed ({exc})"
    searched = "; ".join(f"{folder} ({origin})" for origin, folder in places)
    fixes = []
    if spec.apt_package:
        fixes.append(f"`apt-get install {spec.apt_package}`")
    fixes.append(
        f"pass `--data-dir DIR` (or set ${ENV_DATA_DIR}) to a folder holding "
        + ", ".join(f"{f.name}.gz" for f in spec.files.values())
    )
    raise ConfigError(
        f"{spec.name} data not found. Searched: {searched}; {download_note}. Fix: " + " or ".join(fixes) + "."
    )


__all__ = ["ENV_DATA_DIR", "ENV_NO_DOWNLOAD", "locate_dataset", "search_path"]
