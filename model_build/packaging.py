"""Deterministic `model.tar.gz` packaging and all-or-nothing writes of build outputs."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path

from model_build.errors import BuildError
from model_build.manifest import MODEL_FILE_NAME

_FILE_MODE = 0o644
_GZIP_LEVEL = 9


def package_model(model_bytes: bytes) -> bytes:
    """Tar and gzip `model_algo-1` so the same bytes in always give the same bytes out.

    Fixed mtime, owner and mode in the tar entry and no name or timestamp in the
    gzip header: the CDK asset hash, hence the endpoint, changes only with the model.
    """
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        entry = tarfile.TarInfo(MODEL_FILE_NAME)
        entry.size = len(model_bytes)
        entry.mode = _FILE_MODE
        entry.mtime = 0
        entry.uid = entry.gid = 0
        entry.uname = entry.gname = ""
        archive.addfile(entry, io.BytesIO(model_bytes))
    gzip_buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gzip_buffer, mtime=0, compresslevel=_GZIP_LEVEL) as stream:
        stream.write(tar_buffer.getvalue())
    return gzip_buffer.getvalue()


def unpack_model(artifact: bytes, where: str) -> bytes:
    """Return the `model_algo-1` bytes from a model.tar.gz, refusing anything unsafe."""
    try:
        with tarfile.open(fileobj=io.BytesIO(artifact), mode="r:gz") as archive:
            member = _model_member(archive, where)
            stream = archive.extractfile(member)
            assert stream is not None  # _model_member admits regular files only
            return stream.read()
    except (tarfile.TarError, OSError, EOFError) as error:
        raise BuildError(f"{where}: not a readable tar.gz ({error})") from error


def _model_member(archive: tarfile.TarFile, where: str) -> tarfile.TarInfo:
    members = {member.name.removeprefix("./"): member for member in archive.getmembers()}
    member = members.get(MODEL_FILE_NAME)
    if member is None:
        raise BuildError(f"{where}: has no {MODEL_FILE_NAME} at its root (found {sorted(members)})")
    if not member.isreg():
        raise BuildError(f"{where}: {MODEL_FILE_NAME} is not a regular file")
    return member


def write_outputs_atomically(out_dir: Path, files: Mapping[str, bytes]) -> None:
    """Write every file or none: stage beside the target, then rename each into place.

    Files are renamed in the mapping's order, so put the one that vouches for the
    others (the manifest) last: a reader never sees a manifest newer than its artifact.
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    except OSError as error:
        raise BuildError(f"{out_dir}: cannot create the output folder ({error.strerror})") from error
    try:
        for name, data in files.items():
            _write_synced(staging / name, data)
        for name in files:
            os.replace(staging / name, out_dir / name)
    except OSError as error:
        raise BuildError(f"{out_dir}: cannot write outputs ({error.strerror})") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())
