"""Puma, run as `puma` or by `rails server`: closes idle connections after `persistent_timeout`.

The default is 20 s before Puma 7.0 and 65 s from 7.0, so the Puma version matters; it is read from the
Gemfile.lock a known Dockerfile copies into the image, and when it is not visible the older default is
assumed and said so. `persistent_timeout` is set in the config file (`-C`, else config/puma/<env>.rb
or config/puma.rb, read as text here, never run); from Puma 7.0.3 the PUMA_PERSISTENT_TIMEOUT
environment variable sets the default the config file may override. `enable_keep_alives false` (Puma
6.5+) and `queue_requests false` make Puma answer every request with `Connection: close`. Puma has no
per-request timeout (`worker_timeout` is a worker heartbeat, not a request bound).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policies.model import UNKNOWN_PART, ImageFile, Location, show
from policies.servers.argv import option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, Server

NAME = "puma"
RECOGNISED = "`puma`, `rails server`/`rails s` (Puma is Rails' default), with config/puma.rb and Gemfile.lock when the Dockerfile copies them"
# lib/puma/configuration.rb DEFAULTS `persistent_timeout: 20` up to 6.x; docs/7.0-Upgrade.md: "The default
# `persistent_timeout` is now `65` seconds."
OLD_DEFAULT, NEW_DEFAULT, NEW_SINCE = 20, 65, (7, 0, 0)
_OLD_SOURCE = "https://github.com/puma/puma/blob/v6.6.0/lib/puma/configuration.rb"
_NEW_SOURCE = "https://github.com/puma/puma/blob/master/docs/7.0-Upgrade.md"
# configuration.rb puma_options_from_env reads PUMA_PERSISTENT_TIMEOUT into the *default* options (so a
# config file's persistent_timeout wins) since 7.0.0 (puma/puma#3378); 7.0.0 to 7.0.2 kept it a String
# and failed on keep-alive connections ("String can't be coerced into Float"), fixed in 7.0.3 (#3749).
_ENV = "PUMA_PERSISTENT_TIMEOUT"
ENV_SINCE, ENV_BROKEN_SINCE = (7, 0, 3), (7, 0, 0)
_ENV_SOURCE = "https://github.com/puma/puma/pull/3749"
_DSL = "https://github.com/puma/puma/blob/master/lib/puma/dsl.rb"
# lib/puma/request.rb str_headers: keep-alive only `&&= queue_requests` and when enable_keep_alives;
# otherwise the response says `connection: close`. enable_keep_alives came with 6.5.0 (puma/puma#3496).
_NO_KEEP_ALIVE_SOURCE = "https://github.com/puma/puma/blob/master/lib/puma/request.rb"
_VERSION_UNKNOWN = (
    "the Puma version is not visible (a Gemfile.lock that a scanned Dockerfile copies makes it certain)"
)
_LOCK_LINE = re.compile(r"^    puma \((\d+)\.(\d+)(?:\.(\d+))?[^)]*\)\s*$", re.M)

FACTS = (
    Fact(
        "Puma < 7.0 (`puma`, `rails server`)",
        "`persistent_timeout` in config/puma.rb",
        f"{OLD_DEFAULT} s",
        _OLD_SOURCE,
        "whole seconds",
    ),
    Fact(
        "Puma ≥ 7.0",
        f"`persistent_timeout` in config/puma.rb; `{_ENV}` from 7.0.3",
        f"{NEW_DEFAULT} s",
        _NEW_SOURCE,
        "whole seconds",
    ),
    Fact(
        "Puma with `enable_keep_alives false` or `queue_requests false`",
        "`Connection: close` on every response",
        "no keep-alive",
        _NO_KEEP_ALIVE_SOURCE,
        "-",
    ),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program == "puma" or (invocation.program == "rails" and _rails_server(invocation.args))


_RACK_SERVERS = frozenset({"puma", "thin", "falcon", "webrick", "unicorn", "passenger", "pitchfork"})


def _rails_server(args: tuple[str, ...]) -> bool:
    """`rails server`/`rails s` with Puma: railties' server command runs the `-u/--using` server (or the
    deprecated positional name), else the first of Rack's handlers that is installed, Puma first."""
    if not args or args[0] not in ("server", "s"):
        return False
    using = option(args[1:], ("-u", "--using"))
    positional = next((arg for arg in args[1:] if arg in _RACK_SERVERS), None)
    chosen = using.value if using is not None else positional
    return chosen is None or chosen == "puma"


# --- Ruby configuration files, read as text -------------------------------------------------------


@dataclass(frozen=True)
class RubyCall:
    """A configuration call such as `persistent_timeout 75` at the start of a line."""

    name: str
    argument: str  # the argument text, outer parentheses removed; "" when called without one
    line: int
    conditional: bool  # inside a block or condition (indented), or with an `if`/`unless` modifier


def _strip_comment(line: str) -> str:
    quote = ""
    for index, char in enumerate(line):
        if quote:
            if char == quote and line[index - 1] != "\\":
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            return line[:index]
    return line


def ruby_calls(text: str, names: tuple[str, ...]) -> list[RubyCall]:
    """The calls of `names` in a Ruby configuration file, in file order (the last one wins)."""
    pattern = re.compile(rf"^(\s*)({'|'.join(names)})(?=[\s(]|$)(.*)$")
    found: list[RubyCall] = []
    in_doc = False
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.startswith(("=begin", "=end")):
            in_doc = raw.startswith("=begin")
            continue
        match = None if in_doc else pattern.match(_strip_comment(raw).rstrip())
        if match is None:
            continue
        argument = match.group(3).strip()
        conditional = bool(match.group(1)) or re.search(r"\s(if|unless)\s", f" {argument} ") is not None
        if argument.startswith("(") and argument.endswith(")"):
            argument = argument[1:-1].strip()
        found.append(RubyCall(match.group(2), argument, number, conditional))
    return found


@dataclass(frozen=True)
class RubyValue:
    number: int | None  # None: not known
    says: str  # how an environment variable decided it, "" for a literal


_FETCH = re.compile(
    r"ENV\.fetch\(\s*(['\"])(?P<name>\w+)\1\s*(?:,\s*(?P<default>[^)]*?)\s*)?\)(?:\s*\{\s*(?P<block>[^}]*?)\s*\})?"
)
_INDEX = re.compile(r"ENV\[\s*(['\"])(?P<name>\w+)\1\s*\](?:\s*\|\|\s*(?P<default>.+?))?")


def _string_integer(text: str | None, lenient: bool = False) -> int | None:
    """A string as Integer() reads it (None where Integer() raises; a leading 0 would be octal, so it is not
    read either) or, `lenient`, as String#to_i reads it: its leading digits."""
    if text is None or UNKNOWN_PART in text:
        return None
    text = text.strip().replace("_", "")
    match = re.match(r"[+-]?\d+", text) if lenient else re.fullmatch(r"[+-]?\d+", text)
    if match is None or (not lenient and re.match(r"[+-]?0\d", text)):
        return None
    return int(match.group())


def _literal(text: str | None, lenient: bool) -> int | None:
    """A Ruby literal as a whole number: 75, 75.0 (Integer() truncates a Float) or a quoted string."""
    text = (text or "").strip()
    quoted = re.fullmatch(r"(['\"])(.*)\1", text)
    if quoted:
        return _string_integer(quoted.group(2), lenient)
    if not re.fullmatch(r"[+-]?\d[\d_]*(\.\d+)?", text) or re.match(r"[+-]?0\d", text):
        return None
    return int(float(text.replace("_", "")))


def ruby_integer(expression: str, invocation: Invocation) -> RubyValue:
    """The whole number a configuration expression evaluates to: a literal, `ENV.fetch("X", 75)`,
    `ENV.fetch("X") { 75 }` or `ENV["X"] || 75`, possibly inside Integer(...) or followed by .to_i."""
    text, lenient = expression.strip(), False
    while True:
        wrapped = re.fullmatch(r"Integer\s*\((.*)\)|\((.*)\)", text, re.S)
        if wrapped:
            text = (wrapped.group(1) or wrapped.group(2) or "").strip()
        elif text.endswith(".to_i"):
            text, lenient = text[: -len(".to_i")].strip(), True
        else:
            break
    literal = _literal(text, lenient)
    if literal is not None:
        return RubyValue(literal, "")
    match = _FETCH.fullmatch(text) or _INDEX.fullmatch(text)
    if match is None:
        return RubyValue(None, f"`{show(expression)}` is not a value keepalive-guard can evaluate")
    name = match.group("name")
    setting = invocation.env_value(name)
    if setting is None:
        fallback = match.groupdict().get("block") or match.group("default")
        value = _literal(fallback, lenient)
        if value is None:
            return RubyValue(None, f"{name} is not set and `{show(expression)}` has no fallback to read")
        return RubyValue(value, f"{name} is not set")
    if setting.value is None:
        return RubyValue(None, f"{name} is not known ({setting.note})")
    value = _string_integer(setting.value, lenient)
    if value is None:
        return RubyValue(None, f"{name}={show(setting.value)} is not a whole number")
    return RubyValue(value, f"{name}={setting.value}")


# --- Puma ----------------------------------------------------------------------------------------


def _version(lock: ImageFile | None) -> tuple[tuple[int, int, int], Location] | None:
    """Puma's version in Gemfile.lock (`    puma (6.4.2)` under `specs:`), with where it is written."""
    found = _LOCK_LINE.search(lock.text) if lock is not None and lock.text else None
    if lock is None or found is None:
        return None
    line = (lock.text or "").count("\n", 0, found.start()) + 1
    version = int(found.group(1)), int(found.group(2)), int(found.group(3) or 0)
    return version, Location(lock.location.path, line)


@dataclass(frozen=True)
class _Config:
    files: tuple[ImageFile, ...] = ()  # read in this order; a later file's setting wins
    note: str = ""  # the assumption made about config files that cannot be seen
    unknown: Evidence | None = None  # a config file that may set it but cannot be read


def _environment(invocation: Invocation, rails: bool) -> str | None:
    """The environment that picks config/puma/<env>.rb: -e, else (railties) RAILS_ENV, RACK_ENV or (Puma's
    configuration.rb) APP_ENV, RACK_ENV, RAILS_ENV; None when it may be set where it cannot be seen."""
    flag = option(invocation.args, ("-e", "--environment"))
    if flag is not None:
        return flag.value if flag.value and UNKNOWN_PART not in flag.value else None
    for name in ("RAILS_ENV", "RACK_ENV") if rails else ("APP_ENV", "RACK_ENV", "RAILS_ENV"):
        setting = invocation.env_value(name)
        if setting is not None and setting.value != "":
            return setting.value if setting.value and UNKNOWN_PART not in setting.value else None
    return "development"


def _config_arguments(args: tuple[str, ...]) -> list[tuple[str, int]]:
    """The config files named on Puma's command line (lib/puma/cli.rb: every `-C`/`--config PATH` is loaded,
    in order; `--no-config` is `-C -`), each with the index of its argument."""
    found: list[tuple[str, int]] = []
    for index, arg in enumerate(args):
        if arg in ("-C", "--config") and index + 1 < len(args):
            found.append((args[index + 1], index + 1))
        elif arg.startswith("--config="):
            found.append((arg[len("--config=") :], index))
        elif arg.startswith("-C") and len(arg) > 2:
            found.append((arg[2:], index))
        elif arg == "--no-config":
            found.append(("-", index))
    return found


def _config(invocation: Invocation, rails: bool) -> _Config:
    """The config files Puma reads (lib/puma/configuration.rb config_files): those given with `-C` (`-`
    alone: none), else the first of config/puma/<env>.rb and config/puma.rb that exists. `rails server`
    gives none, so the default search runs in the app's root (railties chdirs to Rails.root)."""
    explicit = [] if rails else _config_arguments(invocation.args)
    files: list[ImageFile] = []
    for path, index in explicit:
        if path == "-":
            continue
        found = invocation.file(path) if UNKNOWN_PART not in path else None
        if found is None or found.text is None:
            if found is not None:
                why = found.problem
            elif invocation.build is None:
                why = "the image's build is not known"
            else:
                why = "the scanned Dockerfile does not copy it"
            says = f"persistent_timeout may be set in the config file `{show(path)}`, which cannot be read ({why})"
            return _Config(unknown=Evidence(says, invocation.where(index)))
        files.append(found)
    if explicit:
        return _Config(tuple(files))
    environment = _environment(invocation, rails)
    candidates = [f"config/puma/{environment}.rb"] if environment else []
    candidates.append("config/puma.rb")
    if invocation.build is None:
        note = (
            f"assuming no {' or '.join(candidates)} in the image's working directory, which Puma would read"
        )
        return _Config(note=note)
    for candidate in candidates:
        found = invocation.file(candidate)
        if found is not None and found.text is None:
            says = f"Puma reads {candidate}, which cannot be read ({found.problem})"
            return _Config(unknown=Evidence(says, found.location))
        if found is not None:
            return _Config((found,))
    note = f"the Dockerfile copies no {' or '.join(candidates)}"
    if environment is None:
        note += ", and the environment that would pick config/puma/<environment>.rb is not known"
    return _Config(note=note)


def _switched_off(calls: dict[str, tuple[ImageFile, RubyCall]]) -> KeepAlive | None:
    """`enable_keep_alives false` or `queue_requests false`: every response says `Connection: close`."""
    for name in ("enable_keep_alives", "queue_requests"):
        if name not in calls:
            continue
        config_file, call = calls[name]
        where = Location(config_file.location.path, call.line)
        written = f"`{name} {call.argument}`" if call.argument else f"`{name}`"
        if call.conditional or call.argument not in ("", "true", "false", "nil"):
            says = f"{written} in {config_file.path} is conditional or not a plain true/false"
            return KeepAlive.unknown(Evidence(says, where))
        if call.argument in ("false", "nil"):
            says = f"{written} in {config_file.path}: Puma answers every request with `Connection: close`"
            return KeepAlive(Mode.NO_KEEP_ALIVE, Evidence(says, where, _NO_KEEP_ALIVE_SOURCE))
    return None


def analyse(invocation: Invocation) -> Server:
    rails = invocation.program == "rails"
    lock = invocation.file("Gemfile.lock")
    pinned = _version(lock)
    version, shown = (pinned[0], ".".join(map(str, pinned[0]))) if pinned else (None, "")
    detail = ", ".join(
        part for part in ("rails server" if rails else "", f"Puma {shown}" if pinned else "") if part
    )

    def server(keep_alive: KeepAlive, remedy: str = "", where: Location | None = None) -> Server:
        if keep_alive.mode is Mode.UNKNOWN:
            remedy = (
                "set `persistent_timeout {seconds}` in config/puma.rb and declare it with the docker label "
                '`keepalive-guard.keep-alive-seconds = "{seconds}"`'
            )
        return Server(NAME, detail, keep_alive, None, remedy, where or invocation.location)

    if rails and lock is not None and lock.text is not None and pinned is None:
        says = "`rails server` runs the first Rack server that is installed, and Gemfile.lock lists no puma"
        return server(KeepAlive.unknown(Evidence(says, lock.location)))
    config = _config(invocation, rails)
    if config.unknown is not None:
        return server(KeepAlive.unknown(config.unknown))
    calls: dict[str, tuple[ImageFile, RubyCall]] = {}
    for config_file in config.files:
        for call in ruby_calls(
            config_file.text or "", ("persistent_timeout", "enable_keep_alives", "queue_requests")
        ):
            calls[call.name] = (config_file, call)
    switched_off = _switched_off(calls)
    if switched_off is not None:
        return server(switched_off)
    if "persistent_timeout" in calls:
        config_file, call = calls["persistent_timeout"]
        where = Location(config_file.location.path, call.line)
        written = f"`persistent_timeout {show(call.argument)}` in {config_file.path}"
        if call.conditional:
            return server(KeepAlive.unknown(Evidence(f"{written} is inside a block or condition", where)))
        value = ruby_integer(call.argument, invocation)
        evidence = Evidence(f"{written} ({value.says})" if value.says else written, where, _DSL)
        if value.number is None:
            return server(KeepAlive.unknown(evidence))
        remedy = f"change `persistent_timeout {call.argument}` to `persistent_timeout {{seconds}}` in {config_file.path}"
        return server(KeepAlive.after(value.number, evidence), remedy, where)
    assumption = f" ({config.note})" if config.note else ""
    env = invocation.env_value(_ENV)
    if env is not None and env.value == "":
        env = None  # configuration.rb: `persistent_timeout && persistent_timeout != ""`
    if env is not None and (env.value is not None or (version is not None and version >= ENV_SINCE)):
        if env.value is None:
            return server(KeepAlive.unknown(Evidence(f"{_ENV} is not known ({env.note})", env.location)))
        written = f"{_ENV}={show(env.value)}"
        if version is None:
            says = (
                f"{written} is read by Puma 7.0.3 and later only (older Pumas keep their {OLD_DEFAULT} s default), "
                f"and {_VERSION_UNKNOWN}"
            )
            return server(KeepAlive.unknown(Evidence(says, env.location, _ENV_SOURCE)))
        if version >= ENV_SINCE:
            seconds = _string_integer(env.value)
            evidence = Evidence(f"{written} (Puma {shown}){assumption}", env.location, _ENV_SOURCE)
            if seconds is None:
                return server(KeepAlive.unknown(evidence))
            return server(KeepAlive.after(seconds, evidence), f"set {_ENV}={{seconds}}", env.location)
        if version >= ENV_BROKEN_SINCE:
            says = (
                f"{written}: Puma {shown} does not convert {_ENV} to a number and fails on keep-alive "
                "connections (fixed in 7.0.3, puma/puma#3749)"
            )
            return server(KeepAlive.unknown(Evidence(says, env.location, _ENV_SOURCE)))
        assumption = f"; {written} is read from Puma 7.0.3 on only{assumption}"
    target = config.files[-1] if config.files else None
    remedy = f"add `persistent_timeout {{seconds}}` to {target.path if target else 'config/puma.rb'}"
    where = target.location if target else invocation.location
    if pinned is None:
        says = (
            f"no persistent_timeout set: Puma's default is {OLD_DEFAULT} s before 7.0 and {NEW_DEFAULT} s from 7.0; "
            f"{_VERSION_UNKNOWN}, so keepalive-guard assumes the older default{assumption}"
        )
        return server(
            KeepAlive.after(OLD_DEFAULT, Evidence(says, invocation.location, _OLD_SOURCE)), remedy, where
        )
    seconds, source = (NEW_DEFAULT, _NEW_SOURCE) if pinned[0] >= NEW_SINCE else (OLD_DEFAULT, _OLD_SOURCE)
    says = f"no persistent_timeout set: the default of Puma {shown} (Gemfile.lock) is {seconds} s{assumption}"
    return server(KeepAlive.after(seconds, Evidence(says, pinned[1], source)), remedy, where)
