"""Progress of long work (deploying, indexing, anchoring), reported through a callback and shown as a rich bar.

Library code takes an optional ``progress: Progress`` and calls it with ``(done, total, what)`` as it goes; the
command line shows it with :func:`progress_bar`. Nothing is shown when the console is not a terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress

Progress = Callable[[int, int, str], None]
"""``progress(done, total, what)``: ``done`` of ``total`` units, and what is being done now."""


@contextmanager
def progress_bar(console: Console, description: str) -> Iterator[Progress]:
    """A transient bar (spinner, description, bar, done/total, what now, time) fed by the callback it yields."""
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[what]}"),
        TimeElapsedColumn(),
    )
    with RichProgress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(description, total=None, what="")

        def update(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=max(total, done), what=what)

        yield update
