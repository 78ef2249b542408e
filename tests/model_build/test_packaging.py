"""model.tar.gz is reproducible, holds only model_algo-1, and is written all-or-nothing."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from model_build.errors import BuildError
from model_build.packaging import package_model, unpack_model, write_outputs_atomically

MODEL_BYTES = b"\x12\x01" + bytes(100)


def test_archive_holds_only_a_regular_model_file_with_fixed_metadata() -> None:
    with tarfile.open(fileobj=io.BytesIO(package_model(MODEL_BYTES)), mode="r:gz") as archive:
        (member,) = archive.getmembers()
    assert (member.name, member.isreg(), member.size) == ("model_algo-1", True, len(MODEL_BYTES))
    assert (member.mtime, member.uid, member.gid, member.mode) == (0, 0, 0, 0o644)
    assert (member.uname, member.gname) == ("", "")


def test_gzip_header_has_no_timestamp_or_name() -> None:
    header = package_model(MODEL_BYTES)[:10]
    assert header[3] == 0  # FLG: no FNAME, no FEXTRA, no FCOMMENT
    assert header[4:8] == bytes(4)  # MTIME


def test_packaging_is_byte_identical_across_runs() -> None:
    assert package_model(MODEL_BYTES) == package_model(bytes(MODEL_BYTES))


def test_unpack_returns_the_model_bytes() -> None:
    assert unpack_model(package_model(MODEL_BYTES), "model.tar.gz") == MODEL_BYTES


def _tar_gz(name: str, *, symlink: bool = False) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        entry = tarfile.TarInfo(name)
        if symlink:
            entry.type, entry.linkname = tarfile.SYMTYPE, "/etc/passwd"
            archive.addfile(entry)
        else:
            entry.size = 1
            archive.addfile(entry, io.BytesIO(b"x"))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("artifact", "message"),
    [
        (_tar_gz("model.params"), "has no model_algo-1 at its root (found ['model.params'])"),
        (_tar_gz("model_algo-1", symlink=True), "model_algo-1 is not a regular file"),
        (gzip.compress(b"not a tar", mtime=0), "not a readable tar.gz"),
    ],
    ids=["other member", "symlink", "gzip of no tar"],  # bytes in ids would vary: xdist workers must agree
)
def test_unpack_refuses_archives_the_container_cannot_use(artifact: bytes, message: str) -> None:
    with pytest.raises(BuildError, match=r"^model\.tar\.gz: ") as raised:
        unpack_model(artifact, "model.tar.gz")
    assert message in str(raised.value)


def test_atomic_write_replaces_every_file_and_leaves_no_staging(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("old")
    write_outputs_atomically(tmp_path, {"model.tar.gz": b"new", "manifest.json": b"{}"})
    assert sorted(os.listdir(tmp_path)) == ["manifest.json", "model.tar.gz"]
    assert (tmp_path / "manifest.json").read_bytes() == b"{}"


def test_failed_write_keeps_the_previous_outputs(tmp_path: Path) -> None:
    (tmp_path / "model.tar.gz").write_bytes(b"previous")
    with pytest.raises(BuildError, match="cannot write outputs"):
        # A name with a folder that does not exist fails while staging, before any rename.
        write_outputs_atomically(tmp_path, {"model.tar.gz": b"new", "missing/manifest.json": b"{}"})
    assert sorted(os.listdir(tmp_path)) == ["model.tar.gz"]
    assert (tmp_path / "model.tar.gz").read_bytes() == b"previous"
