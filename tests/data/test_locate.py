"""Data set lookup order, the 'not found' message, and the checksummed atomic download."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from convwise.core.errors import ConfigError
from convwise.data import FASHION_MNIST, DatasetSpec, FileSpec, load_raw, locate_dataset, write_idx
from convwise.data.download import download_dataset, download_file
from convwise.data.idx import read_bytes


def _tiny_spec(tmp_path: Path, system_dir: Path | None = None) -> tuple[DatasetSpec, Path]:
    """A small data set written as IDX gzip files, and its spec with the checksums of the content."""
    import hashlib

    src = tmp_path / "source"
    src.mkdir()
    rng = np.random.default_rng(1)
    arrays = {
        "train_images": rng.integers(0, 256, (20, 4, 4), dtype=np.uint8),
        "train_labels": rng.integers(0, 3, 20, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (6, 4, 4), dtype=np.uint8),
        "test_labels": rng.integers(0, 3, 6, dtype=np.uint8),
    }
    files = {}
    for role, array in arrays.items():
        name = role.replace("_", "-") + "-idx-ubyte"
        path = write_idx(src / f"{name}.gz", array)
        files[role] = FileSpec(name, hashlib.sha256(read_bytes(path)).hexdigest(), array.shape)
    spec = DatasetSpec(
        name="tiny",
        files=files,
        classes=("a", "b", "c"),
        system_dirs=(str(system_dir),) if system_dir else (),
        apt_package="dataset-tiny",
    )
    return spec, src


@pytest.fixture()
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CONVWISE_DATA_DIR", raising=False)
    monkeypatch.setenv("CONVWISE_NO_DOWNLOAD", "1")
    return tmp_path


def test_lookup_order(isolated, monkeypatch):
    tmp_path = isolated
    system = tmp_path / "usr-share"
    spec, src = _tiny_spec(tmp_path, system)
    system.mkdir()
    for f in src.iterdir():
        (system / f.name).write_bytes(f.read_bytes())
    assert locate_dataset(spec) == system  # only the OS package folder has it
    cache = tmp_path / "cache" / "convwise" / "datasets" / "tiny"
    cache.mkdir(parents=True)
    for f in src.iterdir():
        (cache / f.name).write_bytes(f.read_bytes())
    assert locate_dataset(spec) == cache  # the user cache comes before the OS package
    env_root = tmp_path / "env"
    (env_root / "tiny").mkdir(parents=True)
    for f in src.iterdir():
        (env_root / "tiny" / f.name).write_bytes(f.read_bytes())
    monkeypatch.setenv("CONVWISE_DATA_DIR", str(env_root))
    assert locate_dataset(spec) == env_root / "tiny"  # $CONVWISE_DATA_DIR (parent folder form) first
    assert locate_dataset(spec, src) == src  # --data-dir wins over everything


def test_not_found_lists_every_place_and_the_fixes(isolated):
    spec, _ = _tiny_spec(isolated, isolated / "nowhere")
    with pytest.raises(ConfigError) as info:
        locate_dataset(spec)
    msg = str(info.value)
    assert "tiny data not found" in msg
    assert str(isolated / "cache" / "convwise" / "datasets" / "tiny") in msg
    assert str(isolated / "nowhere") in msg
    assert "apt-get install dataset-tiny" in msg and "--data-dir" in msg and "download disabled" in msg


def test_explicit_data_dir_without_files_is_an_error(isolated):
    with pytest.raises(ConfigError, match=r"fashion-mnist data not found.*--data-dir.*apt-get install"):
        locate_dataset("fashion-mnist", isolated / "empty")


def test_unknown_dataset():
    with pytest.raises(
        ConfigError, match=r"`dataset` must be one of fashion-mnist, mnist\. Received: dataset='cifar'"
    ):
        locate_dataset("cifar")


def _serve(folder: Path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_download_from_local_http_server(isolated):
    spec, src = _tiny_spec(isolated)
    server = _serve(src)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        dest = isolated / "dl"
        download_dataset(spec, dest, mirrors=("http://127.0.0.1:9/", url))  # first mirror refuses
    finally:
        server.shutdown()
    for role, file in spec.files.items():
        assert (dest / f"{file.name}.gz").read_bytes() == (src / f"{file.name}.gz").read_bytes(), role
    assert not list(dest.glob(".*part"))


def test_download_with_wrong_checksum_leaves_nothing(isolated):
    spec, src = _tiny_spec(isolated)
    bad = FileSpec(spec.files["test_labels"].name, "f" * 64, (6,))
    dest = isolated / "dl" / f"{bad.name}.gz"
    url = (src / f"{bad.name}.gz").as_uri()
    with pytest.raises(ConfigError, match="Downloaded file `url` has SHA-256"):
        download_file(url, dest, bad)
    assert not dest.parent.exists()  # neither the partial file nor the folder made for it
    good = download_file(url, dest, spec.files["test_labels"])  # file:// works too
    assert good.read_bytes() == (src / f"{bad.name}.gz").read_bytes()


@pytest.mark.data  # .ci/run installs the package: under --require-data this may not skip
def test_debian_package_folder_is_found_when_installed(monkeypatch, isolated):
    folder = Path(FASHION_MNIST.system_dirs[0])
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(
            "Debian package dataset-fashion-mnist not installed (apt-get install dataset-fashion-mnist)"
        )
    assert locate_dataset("fashion-mnist") == folder


def test_real_fashion_mnist_loads(fashion_dir):
    raw = load_raw("fashion-mnist", fashion_dir)
    assert tuple(raw.train_images.shape) == (60000, 28, 28) and tuple(raw.test_images.shape) == (
        10000,
        28,
        28,
    )
    # published: 6,000 training images per class
    assert raw.train_labels.bincount().tolist() == [6000] * 10
