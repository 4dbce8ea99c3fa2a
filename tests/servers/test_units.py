"""Durations in each server's own notation, in seconds; None for what that server would not accept."""

from __future__ import annotations

import pytest

from policies.model import UNKNOWN_PART
from policies.servers import units


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("75", 75),
        ("7.5", 7.5),
        (" 60 ", 60),
        ("-1", -1),
        ("75s", None),
        ("", None),
        (f"6{UNKNOWN_PART}", None),
    ],
)
def test_plain(text: str, seconds: float | None) -> None:
    assert units.plain(text) == seconds


@pytest.mark.parametrize(("text", "value"), [("75", 75), ("+3", 3), ("7.5", None), ("75s", None), ("", None)])
def test_integer(text: str, value: int | None) -> None:
    assert units.integer(text) == value


@pytest.mark.parametrize(
    ("text", "bare_seconds", "seconds"),
    [
        ("75s", False, 75),
        ("1m15s", False, 75),
        ("1.5h", False, 5400),
        ("300ms", False, 0.3),
        ("1500us", False, 0.0015),
        ("2µs", False, 2e-6),
        ("0", False, 0),
        ("-5s", False, -5),
        ("75", False, None),  # Go: "missing unit in duration"
        ("75", True, 75),  # Traefik takes bare seconds
        ("1d", False, None),
        ("s", False, None),
        ("", False, None),
    ],
)
def test_go_duration(text: str, bare_seconds: bool, seconds: float | None) -> None:
    assert units.go_duration(text, bare_seconds) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("75000", 75),  # a bare number is milliseconds
        ("75s", 75),
        ("2m", 120),
        ("500ms", 0.5),
        ("1d", 86400),
        ("75S", 75),
        ("PT75S", 75),
        ("pt1m15s", 75),
        ("P1DT1H", 90000),
        ("-1", -0.001),
        ("75x", None),
        ("1.5s", None),
    ],
)
def test_spring_duration(text: str, seconds: float | None) -> None:
    assert units.spring_duration(text) == seconds


def test_spring_duration_with_another_bare_unit() -> None:
    assert units.spring_duration("75", bare_unit=1) == 75


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT0.5S", 0.5), ("P", None), ("PT", None), ("-PT10S", -10), ("75", None)],
)
def test_iso8601_duration(text: str, seconds: float | None) -> None:
    assert units.iso8601_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:02:10", 130),
        ("00:01:15.5", 75.5),
        ("1.02:03:04", 93784),
        ("02:10", 7800),  # hh:mm
        ("2", 172800),  # TimeSpan.Parse("2") is two days
        ("00:60:00", None),
        ("abc", None),
    ],
)
def test_timespan(text: str, seconds: float | None) -> None:
    assert units.timespan(text) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("65", 65), ("75s", 75), ("1m15s", 75), ("1m 15s", 75), ("75000ms", 75), ("1h", 3600), ("1.5m", None)],
)
def test_nginx_time(text: str, seconds: float | None) -> None:
    assert units.nginx_time(text) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"), [("75000", 75), ("75s", 75), ("2m", 120), ("1h", 3600), ("5", 0.005), ("5x", None)]
)
def test_haproxy_time(text: str, seconds: float | None) -> None:
    assert units.haproxy_time(text) == seconds


@pytest.mark.parametrize(
    ("text", "seconds"), [("5", 5), ("75s", 75), ("500ms", 0.5), ("2mi", 120), ("1h", 3600), ("2m", None)]
)
def test_apache_time(text: str, seconds: float | None) -> None:
    assert units.apache_time(text) == seconds
