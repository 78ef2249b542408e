"""`python -m monitoring export`: the request rows a stack's endpoint captured in a window, as CSV to retrain on.

    python -m monitoring export --stack KMeansEndpoint --since 1h --out recent.csv
    python -m monitoring export --stack KMeansEndpoint --start 2026-12-01T00:00:00Z --end 2026-12-02T00:00:00Z \\
        --variant AllTraffic --out recent.csv

The capture files are found and streamed as `python -m monitoring drift` finds and streams them (the endpoint's
own capture destination, one variant's hour folders, records kept when their `inferenceTime` is in the window);
every request the runtime accepts (CSV, JSON, JSON Lines, RecordIO-protobuf, BASE64 or not) is decoded as the
container reads it, and its rows are written one a line, as the container's CSV (no header, `%.9g`: a float32
round-trips). The file is written to a temporary name and renamed when every record was read: an error leaves
nothing half-written. Exit codes: 0 written; 2 usage (a bad option, no such stack or variant, an --out that cannot
be written); 3 nothing to read (no capture in the window, a capture file that cannot be read, requests of different
widths) or AWS refused a call.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt
from botocore.exceptions import BotoCoreError, ClientError

from contract.clients import NoRegionError, aws_clients
from contract.stack import STACK_BASE_NAME
from monitoring.capture import CaptureError, read_record
from monitoring.cli import _chosen_variants, _explained, capture_target, s3_sources
from monitoring.errors import ExitCode, MonitorError
from monitoring.options import add_window_options, window_from
from monitoring.reading import Source, Window
from wire.errors import PayloadError, UnsupportedMediaTypeError
from wire.portable import read_request

PROGRAM = "python -m monitoring export"
ROW_FORMAT = "%.9g"  # nine significant digits: every float32 reads back as itself


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM,
        description="Write the request rows an endpoint captured in a window as CSV (one row a line, no header).",
        epilog="exit codes: 0 written; 2 usage; 3 no capture in the window, an unreadable capture file, AWS refused.",
    )
    parser.add_argument("--stack", default=STACK_BASE_NAME, help=f"the endpoint's stack (default {STACK_BASE_NAME})")
    parser.add_argument("--variant", action="append", help="a variant whose capture to read (repeatable; default all)")
    parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")
    add_window_options(parser)
    return parser


def main(argv: list[str]) -> int:
    """`export` and its options (argv after the word `export`); one line and an exit code on every error."""
    try:
        args = build_parser().parse_args(argv)
        window = window_from(args)
    except SystemExit as exit_:
        return int(exit_.code or 0) and int(ExitCode.USAGE)
    except ValueError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return int(ExitCode.USAGE)
    try:
        rows, files = export(args.stack, args.variant, window, args.out)
    except (MonitorError, NoRegionError, ClientError, BotoCoreError) as error:
        message, code = _explained(error)
        print(f"{PROGRAM}: error: {message}", file=sys.stderr)
        return int(code)
    except OSError as error:  # --out cannot be written: a usage error, named
        print(f"{PROGRAM}: error: --out {args.out}: cannot write ({error.strerror or error})", file=sys.stderr)
        return int(ExitCode.USAGE)
    print(f"exported {rows} rows from {files} capture files to {args.out}")
    return int(ExitCode.NO_DRIFT)


def export(stack: str, variants: list[str] | None, window: Window, out: Path) -> tuple[int, int]:
    """Write the window's request rows to `out` (all or nothing); the rows and capture files read."""
    clients = aws_clients(["cloudformation", "sagemaker", "s3"])
    target = capture_target(stack, clients)
    chosen = _chosen_variants(target, variants)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w") as sink:
            writer = RowWriter(sink, window)
            for variant in chosen:
                writer.read(s3_sources(clients["s3"], target, variant, window))
        if writer.rows == 0:
            where = f"{target['endpoint']} ({', '.join(chosen)})"
            raise MonitorError(
                f"no captured requests of {where} in the window {window.start.isoformat()} .. {window.end.isoformat()}",
                ExitCode.NOTHING_TO_READ,
            )
        temporary.replace(out)
    finally:
        temporary.unlink(missing_ok=True)
    return writer.rows, writer.files


class RowWriter:
    """Decodes the requests of capture sources in the window and writes their rows as CSV lines."""

    def __init__(self, sink: IO[str], window: Window | None) -> None:
        self.sink = sink
        self.window = window
        self.rows = 0
        self.files = 0
        self.width: int | None = None

    def read(self, sources: Iterable[Source]) -> None:
        for name, lines in sources:
            self.files += 1
            for number, raw in enumerate(lines, 1):
                if raw.strip():
                    self._line(raw, f"{name} line {number}")

    def _line(self, raw: bytes, place: str) -> None:
        try:
            record = read_record(raw)
            if self.window and not self.window.contains(record.inference_time):
                return
            if record.request is None:
                raise CaptureError(
                    "the record holds no request (the endpoint captures Output only; export needs Input)"
                )
            rows = read_request(record.request.content_type, record.request.body())
        except (CaptureError, UnicodeDecodeError, PayloadError, UnsupportedMediaTypeError) as error:
            raise MonitorError(f"{place}: {error}", ExitCode.NOTHING_TO_READ) from error
        self._write(rows, place)

    def _write(self, rows: npt.NDArray[np.float32], place: str) -> None:
        if rows.ndim != 2 or rows.shape[0] == 0:
            return
        if self.width is None:
            self.width = rows.shape[1]
        elif rows.shape[1] != self.width:
            raise MonitorError(
                f"{place}: a request of {rows.shape[1]} features after ones of {self.width}", ExitCode.NOTHING_TO_READ
            )
        np.savetxt(self.sink, rows, delimiter=",", fmt=ROW_FORMAT)
        self.rows += rows.shape[0]
