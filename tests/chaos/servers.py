"""Disks a fault test owns, so that filling them touches nothing else on the machine. (The PostgreSQL server a fault
test restarts at will is a private cluster of its own: ``node_adapter.dev.pgcluster.PrivatePostgres``.)"""

from __future__ import annotations

import contextlib
import errno
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def small_disk(size_mib: int) -> Iterator[Path]:
    """A tmpfs of ``size_mib`` MiB mounted on a temporary directory (needs root, as CI runs, or CAP_SYS_ADMIN)."""
    mount_point = Path(tempfile.mkdtemp(prefix="chaos-disk-"))
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0755", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        mount_point.rmdir()
        raise RuntimeError(
            f"the full-disk fault mounts a small tmpfs and could not ({result.stderr.strip()}): run it as root "
            "(CI does) or with CAP_SYS_ADMIN"
        )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
        with contextlib.suppress(OSError):
            mount_point.rmdir()


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte with a file (returned: deleting it frees the space)."""
    filler = disk / "filler"
    block = b"\0" * (1 << 16)
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(block)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
        try:  # the last partial block
            while True:
                out.write(b"\0" * 512)
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler
