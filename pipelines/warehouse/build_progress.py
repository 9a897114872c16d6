"""Progress through the dbt build on the terminal: "building models 12/23, tests 40/62" (seeds
count as models, as the summary counts them), from dbt's own events (dbtRunner callbacks:
FoundStats gives the totals, NodeFinished each node done). On a terminal the line is rewritten
in place; elsewhere (cron, a log) a line is written at most every `every_s` seconds and when
the models are done."""

from __future__ import annotations

import re
import threading
import time
from typing import Any, TextIO

_COUNT = re.compile(r"(\d+) (model|seed|snapshot|data test|test)s?\b")
BUILT = ("model.", "seed.", "snapshot.")  # what the summary counts as built models


class BuildProgress:
    """A dbtRunner callback that shows models and tests done out of the build's totals."""

    def __init__(self, out: TextIO, every_s: float | None = None) -> None:
        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.every_s = every_s if every_s is not None else (0.2 if self.tty else 10.0)
        self.models_total = self.tests_total = 0
        self.models_done = self.tests_done = 0
        self._lock = threading.Lock()
        self._shown_at = 0.0
        self._width = 0

    def __call__(self, event: Any) -> None:
        name = event.info.name
        if name == "FoundStats":
            for number, kind in _COUNT.findall(str(event.data.stat_line)):
                if kind in ("model", "seed", "snapshot"):
                    self.models_total += int(number)
                else:
                    self.tests_total += int(number)
        elif name == "NodeFinished":
            unique_id = str(event.data.node_info.unique_id)
            with self._lock:
                if unique_id.startswith(BUILT):
                    self.models_done += 1
                elif unique_id.startswith("test."):
                    self.tests_done += 1
                self._show(force=self.models_done == self.models_total)

    def line(self) -> str:
        text = f"building models {self.models_done}/{self.models_total}"
        if self.tests_total:
            text += f", tests {self.tests_done}/{self.tests_total}"
        return text

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._shown_at < self.every_s:
            return
        self._shown_at = now
        text = self.line()
        if self.tty:
            self.out.write("\r" + text.ljust(self._width))
            self._width = max(self._width, len(text))
        else:
            self.out.write(text + "\n")
        self.out.flush()

    def close(self) -> None:
        """Clear the line on a terminal (the summary follows)."""
        if self.tty and self._width:
            self.out.write("\r" + " " * self._width + "\r")
            self.out.flush()
