"""How the platform hands a job's input to its instances: File mode's download, and Pipe mode's FIFOs.

File mode: SageMaker downloads the channel to the instance's ML storage volume while the job is `Downloading`,
before the algorithm starts (API TrainingJobDefinition.TrainingInputMode; SecondaryStatusTransition
"Downloading"). Pipe mode: it streams the channel's objects into a named pipe per epoch,
`/opt/ml/input/data/<channel>_<epoch>`, which the algorithm opens, reads to the end (or closes early), then
opens the next (developer guide "How Amazon SageMaker AI Runs Your Training Image"); each epoch streams the objects
again, as the volume is not used.

The engine has already allowed the role every object (`engine._readable`: `s3:GetObject`, `kms:Decrypt`), so the
transfer is the platform's own and runs in the local AWS's process straight from moto's store: an object moto keeps
in a temporary file (every one above its in-memory buffer, 5 MiB by default) is moved by the kernel
(`os.sendfile`, into a file or a pipe), others from memory. Moving them through the S3 API instead cost a second
process's CPU for every byte (a 3 GB channel took longer to move over HTTP than to train on;
bench/train_vs_sklearn.py).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local_aws import backends
from local_aws.jobs.channels import S3Object
from local_aws.jobs.engine import JobEnd, Run
from local_aws.jobs.instance import failed_pipe_path, input_path, pipe_path
from local_aws.jobs.lifecycle import JobFailedError

SENDFILE_CHUNK = 1 << 30  # os.sendfile moves at most about 2 GiB a call
PIPE_BYTES = 1 << 20  # the largest pipe buffer an unprivileged process may ask for (/proc/sys/fs/pipe-max-size)
READER_POLL_SECONDS = 0.005  # how often a pipe's feeder looks for its reader

Share = dict[str, list[S3Object]]  # channel -> one instance's objects of it, in order


def deliver(shares: list[Share], folders: list[Path], stop_file: Path) -> list[int]:
    """File mode: copy each instance's objects to its volume in its folder (instance.input_path), the instances
    side by side; the bytes each received. A stop request ends the copying between objects."""
    with ThreadPoolExecutor(max_workers=max(1, len(shares))) as pool:
        return list(pool.map(_deliver_one, shares, folders, [stop_file] * len(shares)))


def _deliver_one(share: Share, folder: Path, stop_file: Path) -> int:
    copied = 0
    for channel, objects in share.items():
        for index, item in enumerate(objects):
            if stop_file.exists():
                return copied
            target = input_path(folder, channel, index)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb") as copy:
                copied += send_object(item, copy.fileno())
    return copied


def feed_pipes(shares: list[Share], folders: list[Path], epochs: dict[str, int], run: Run) -> None:
    """Pipe mode: feed each instance's FIFOs (instance.pipe_path, `epochs[channel]` of each channel it has objects
    of) in the background, one thread per instance and channel: each epoch's FIFO is made once the last one has
    been fed (the first at once) and fed once its reader opens it.

    A feeder ends when its epochs are fed, when the job is asked to stop (after letting a waiting reader in), or
    when the job ends (`run.end`: it then makes nothing more in the job's folder); anything it cannot send ends
    the feeding, and instance.failed_pipe_path says why."""
    for share, folder in zip(shares, folders, strict=True):
        for channel, objects in share.items():
            if not objects:
                continue
            paths = [pipe_path(folder, channel, epoch) for epoch in range(epochs.get(channel, 1))]
            paths[0].parent.mkdir(parents=True, exist_ok=True)
            os.mkfifo(paths[0])
            threading.Thread(target=_feed, args=(objects, paths, run), daemon=True).start()


def _feed(objects: list[S3Object], paths: list[Path], run: Run) -> None:
    for epoch, path in enumerate(paths):
        if epoch and not _made(path, run.end):
            return
        try:
            writer = _open_when_read(path, run.end)
        except OSError as error:  # the job's folder is going: nobody waits on this pipe
            _say_why(path, run.end, f"InternalServerError: {error}")
            return
        if writer is None:
            return
        try:
            if run.stop_file.exists():
                return  # the reader sees the pipe end, then the stop request
            for item in objects:
                send_object(item, writer)
        except BrokenPipeError:
            pass  # the algorithm closed the pipe early, which Pipe mode allows
        except Exception as error:  # the reader must learn why its pipe ended, whatever the cause
            _say_why(
                path, run.end, str(error) if isinstance(error, JobFailedError) else f"InternalServerError: {error}"
            )
            return
        finally:
            os.close(writer)


def _made(path: Path, end: JobEnd) -> bool:
    """Make the next epoch's FIFO, unless the job has ended (its folder is being removed)."""
    with end.unless_ended() as running:
        if running:
            os.mkfifo(path)
        return running


def _say_why(pipe: Path, end: JobEnd, reason: str) -> None:
    with end.unless_ended() as running:
        if running:
            failed_pipe_path(pipe).write_text(reason, encoding="utf-8")


def _open_when_read(path: Path, end: JobEnd) -> int | None:
    """The FIFO opened for writing once its reader has opened it (a reader blocks in open() until then, so it is
    always let in, even after a stop request); None once the job has ended. Bounded by the job's life."""
    while not end.ended:
        try:
            writer = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno != errno.ENXIO:  # ENXIO: no reader yet
                raise
            time.sleep(READER_POLL_SECONDS)
            continue
        os.set_blocking(writer, True)
        with contextlib.suppress(OSError):  # a bigger buffer only saves switches between writer and reader
            fcntl.fcntl(writer, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        return writer
    return None


def send_object(item: S3Object, target: int) -> int:
    """The object's current bytes into the file or pipe `target`; how many."""
    stored = backends.s3().get_object(item.bucket, item.key)
    if stored is None:  # deleted since the job listed it: the transfer fails, and with it the job
        raise _download_failed(item)
    source = _own_copy_of_file(stored, item)
    if source is None:
        return _write_all(target, stored.value)
    try:
        size = os.fstat(source).st_size
        offset = 0
        while offset < size:
            sent = os.sendfile(target, source, offset, min(SENDFILE_CHUNK, size - offset))
            if not sent:
                break
            offset += sent
        return offset
    finally:
        os.close(source)


def _own_copy_of_file(stored: Any, item: S3Object) -> int | None:
    """A descriptor of our own on the temporary file moto keeps the object's bytes in (None while they are in
    memory), taken under the key's lock as moto's own reads are; moto closes its descriptor when the key is deleted
    or overwritten (FakeKey.dispose, which marks `disposed` after closing), so a key disposed before or while we
    took ours fails the transfer. Ours keeps the bytes of the version we took, and no lock is held while they move
    (a pipe's reader may take its time)."""
    with stored.lock:
        if stored.disposed:
            raise _download_failed(item)
        descriptor = _stored_file(stored)
        copy = None if descriptor is None else os.dup(descriptor)
        if stored.disposed:
            if copy is not None:
                os.close(copy)
            raise _download_failed(item)
        return copy


def _download_failed(item: S3Object) -> JobFailedError:
    return JobFailedError(
        f"ClientError: Data download failed:Unable to download object s3://{item.bucket}/{item.key} "
        "(NoSuchKey: The specified key does not exist.)"
    )


def _write_all(target: int, data: bytes) -> int:
    view = memoryview(data)
    while view:
        view = view[os.write(target, view) :]
    return len(data)


def _stored_file(stored: Any) -> int | None:
    """The descriptor of the temporary file moto keeps the object's bytes in, or None while they are in memory.

    moto's FakeKey holds them in a `tempfile.SpooledTemporaryFile` (`_value_buffer`), rolled over to a file past its
    size limit; tests/local_aws/test_delivery.py fails if a moto upgrade changes that."""
    try:
        return int(stored._value_buffer._file.fileno())
    except io.UnsupportedOperation:  # still an in-memory BytesIO
        return None
