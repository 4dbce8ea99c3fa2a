"""Durations as servers write them, in seconds.

Each server family parses its own notation; these are the notations, each following the parser that
defines it. Every function returns None for text it would not accept (or that holds an unknown part),
so a value keepalive-guard cannot read is never mistaken for a default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from policies.model import UNKNOWN_PART

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"


def _clean(text: str | None) -> str | None:
    if text is None or UNKNOWN_PART in text:
        return None
    return text.strip()


def plain(text: str | None) -> float | None:
    """A plain decimal number ("75", "7.5"), or None."""
    cleaned = _clean(text)
    if cleaned is None or not re.fullmatch(r"[+-]?" + _NUMBER, cleaned):
        return None
    value = float(cleaned)
    return value if math.isfinite(value) else None  # 400 digits are not a timeout


def integer(text: str | None) -> int | None:
    """A whole number as Python's int() or Ruby's Integer() or Go's strconv.Atoi read it, or None."""
    cleaned = _clean(text)
    if cleaned is None or not re.fullmatch(r"[+-]?\d+", cleaned):
        return None
    return int(cleaned)


def _sequence(text: str, units: Mapping[str, float], bare: float | None) -> float | None:
    """`text` as a sequence of <number><unit> terms ("1m15s"); a lone number takes the `bare` unit."""
    if bare is not None and re.fullmatch(_NUMBER, text):
        return float(text) * bare
    names = "|".join(sorted((re.escape(unit) for unit in units), key=len, reverse=True))
    term = re.compile(rf"{_NUMBER}({names})")
    total, position = 0.0, 0
    while position < len(text):
        match = term.match(text, position)
        if not match:
            return None
        total += float(match.group(1)) * units[match.group(2)]
        position = match.end()
    return total if text else None


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def go_duration(text: str | None, bare_seconds: bool = False) -> float | None:
    """Go's time.ParseDuration ("75s", "1m15s", "1.5h", "300ms"); "0" is zero. Some programs (Traefik)
    also take a bare number as seconds: `bare_seconds`."""
    cleaned = _clean(text)
    if cleaned is None:
        return None
    sign = -1 if cleaned.startswith("-") else 1
    cleaned = cleaned.lstrip("+-")
    if cleaned == "0":
        return 0.0
    value = _sequence(cleaned, _GO_UNITS, 1.0 if bare_seconds else None)
    return None if value is None else sign * value


# org.springframework.boot.convert.DurationStyle.SIMPLE: `^([+-]?\d+)([a-zA-Z]{0,2})$`, units
# ns us ms s m h d, default unit milliseconds unless the property says otherwise (@DurationUnit).
_SPRING_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}


def spring_duration(text: str | None, bare_unit: float = 1e-3) -> float | None:
    """A Spring Boot Duration property: "75s", "75000" (milliseconds by default), or ISO-8601 "PT75S"."""
    cleaned = _clean(text)
    if cleaned is None:
        return None
    simple = re.fullmatch(r"([+-]?\d+)([a-zA-Z]{0,2})", cleaned)
    if simple:
        unit = simple.group(2).lower()
        if not unit:
            return int(simple.group(1)) * bare_unit
        return int(simple.group(1)) * _SPRING_UNITS[unit] if unit in _SPRING_UNITS else None
    return iso8601_duration(cleaned)


def iso8601_duration(text: str | None) -> float | None:
    """java.time.Duration.parse: "PT75S", "PT1M15S", "P1DT2H", "PT0.5S"."""
    cleaned = _clean(text)
    if cleaned is None:
        return None
    match = re.fullmatch(
        rf"([+-]?)P(?:{_NUMBER}D)?(?:T(?:{_NUMBER}H)?(?:{_NUMBER}M)?(?:{_NUMBER}S)?)?",
        cleaned.upper(),
    )
    if not match or cleaned.upper().endswith(("P", "T")):
        return None
    sign = -1 if match.group(1) == "-" else 1
    days, hours, minutes, seconds = (float(part) if part else 0.0 for part in match.groups()[1:])
    return sign * (days * 86400 + hours * 3600 + minutes * 60 + seconds)


def timespan(text: str | None) -> float | None:
    """.NET TimeSpan.Parse: "00:01:15", "1.02:03:04", "00:00:30.5", and a bare integer as days ("2" is
    two days, as TimeSpan.Parse reads it)."""
    cleaned = _clean(text)
    if cleaned is None:
        return None
    sign = -1 if cleaned.startswith("-") else 1
    cleaned = cleaned.lstrip("-")
    if re.fullmatch(r"\d+", cleaned):
        return sign * int(cleaned) * 86400.0
    match = re.fullmatch(
        r"(?:(\d+)[.:](?=\d{1,2}:\d{1,2}:))?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?", cleaned
    )
    if not match:
        return None
    days, hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or (seconds and int(seconds) > 59):
        return None
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)
    return sign * (total + (float("0." + fraction) if fraction else 0.0))


# src/core/ngx_parse.c ngx_parse_time: ms s m h d w M y; a bare number is seconds.
_NGINX_UNITS = {
    "ms": 1e-3,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "M": 30 * 86400,
    "y": 365 * 86400,
}


def nginx_time(text: str | None) -> float | None:
    """An nginx time value ("65", "75s", "1m15s", "75000ms"): a bare number is seconds. Terms may be
    separated by spaces, as ngx_parse_time allows; fractions are not."""
    cleaned = _clean(text)
    if cleaned is None or "." in cleaned:
        return None
    return _sequence(cleaned.replace(" ", ""), _NGINX_UNITS, 1.0)


# HAProxy doc/configuration.txt, "2.5. Time format": us ms s m h d; a bare number is milliseconds.
_HAPROXY_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}


def haproxy_time(text: str | None) -> float | None:
    """An HAProxy time ("5s", "75000" = milliseconds)."""
    cleaned = _clean(text)
    if cleaned is None or not re.fullmatch(r"\d+[a-z]*", cleaned):
        return None
    return _sequence(cleaned, _HAPROXY_UNITS, 1e-3)


# server/util.c ap_timeout_parameter_parse: a number with an optional unit ms, s, mi (minutes) or h;
# without one, the directive's default unit (seconds for KeepAliveTimeout).
_APACHE_UNITS = {"ms": 1e-3, "s": 1, "mi": 60, "h": 3600}


def apache_time(text: str | None) -> float | None:
    """An Apache httpd timeout ("5", "75s", "500ms", "2mi")."""
    cleaned = _clean(text)
    if cleaned is None:
        return None
    match = re.fullmatch(r"(\d+)(ms|s|mi|h)?", cleaned.lower())
    if not match:
        return None
    return int(match.group(1)) * _APACHE_UNITS[match.group(2) or "s"]
