"""Output formats: each reporter turns a scan `Result` into a document. Registry: `FORMATS`."""

from __future__ import annotations

from collections.abc import Callable

from policies.reporters import github, json_report, junit, sarif, text
from policies.reporters.base import Report
from policies.scan import Result

Reporter = Callable[[Result, Report], str]

FORMATS: dict[str, Reporter] = {
    "text": text.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "github": github.render,
}

__all__ = ["FORMATS", "Report", "Reporter"]
