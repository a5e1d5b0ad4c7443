"""A progress bar on stderr for the benchmarks: what runs now, how many are done, lines above."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Bar:
    """``working`` names the current item, ``done`` counts it, ``say`` prints a line above."""

    def __init__(self, progress: Any, task: Any) -> None:
        self._progress, self._task = progress, task

    def working(self, description: str) -> None:
        self._progress.update(self._task, description=description)

    def done(self) -> None:
        self._progress.update(self._task, advance=1)

    def say(self, line: str) -> None:
        self._progress.console.print(line)


@contextmanager
def progress_bar(total: int, enabled: bool, first: str = "starting") -> Iterator[Bar]:
    """A rich progress bar over ``total`` items on stderr (drawn only when ``enabled``)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    ) as progress:
        yield Bar(progress, progress.add_task(first, total=total))
