"""A rich progress bar for row-by-row work: count, failures, rate and ETA, on stderr."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

__all__ = ["RowProgress"]


class _RateColumn(ProgressColumn):
    """Rows per second, over rich's recent-speed window."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if speed is None:
            return Text("-- rows/s", style="progress.data.speed")
        return Text(f"{speed:,.0f} rows/s", style="progress.data.speed")


class RowProgress:
    """`with RowProgress(enabled, total, "importing") as bar: bar.advance(failed=...)`.

    Disabled, it does nothing. `total=None` (unknown) shows a pulsing bar and no ETA.
    The bar goes to stderr, so stdout keeps only the command's output.
    """

    def __init__(self, enabled: bool, total: int | None, description: str) -> None:
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._failed = 0
        if enabled:
            self._progress = Progress(
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failed]} failed"),
                _RateColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                speed_estimate_period=10.0,
            )
            self._task = self._progress.add_task(description, total=total, failed=0)

    def advance(self, *, failed: bool = False) -> None:
        if self._progress is None or self._task is None:
            return
        self._failed += failed
        self._progress.update(self._task, advance=1, failed=self._failed)

    def __enter__(self) -> RowProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
