"""Output formats: each reporter turns a scan `Result` into text. Registry: `FORMATS`."""

from __future__ import annotations

from collections.abc import Callable

from policies.reporters import json_report, text
from policies.scan import Result

Reporter = Callable[[Result, bool], str]  # (result, verbose) -> document

FORMATS: dict[str, Reporter] = {
    "text": text.render,
    "json": json_report.render,
}
