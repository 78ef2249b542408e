"""Starts the control plane (`python -m local_aws.control_plane_launcher ARGS` = `local_aws.control_plane`'s run).

A job's worker processes are spawned, and a spawned process first imports its parent's main module; this one
imports nothing at the top, so a training or transform worker does not import moto and the whole control plane
(about 4 s a worker on a busy machine) before it starts.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from local_aws.control_plane import run

    run(sys.argv[1:])
