"""hypercorn: closes idle connections after `keep_alive_timeout` seconds (default 5).

The command line's `--keep-alive` wins over the config file given with `-c/--config`: a TOML file (read
here when a known Dockerfile copies it), or with `file:` a Python file and with `python:` a module, which
hypercorn runs to read them and keepalive-guard never does. Without `-c` hypercorn reads no config file
and no environment variable. The idle timer is armed whenever a connection has no request in flight, a
new connection included, and closes it without a word when it expires: `0` closes every connection as
soon as it is idle, which is still a race. hypercorn has no per-request timeout (`--read-timeout` bounds
each socket read, not a request).
"""

from __future__ import annotations

import tomllib

from policies.model import UNKNOWN_PART, Location, show
from policies.servers.argv import Option, option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Server
from policies.servers.units import integer

NAME = "hypercorn"
RECOGNISED = "`hypercorn`, `python -m hypercorn`, with its TOML config file when the Dockerfile copies it"
_DOCS = "https://hypercorn.readthedocs.io/en/latest/how_to_guides/configuring.html"
# src/hypercorn/config.py: `keep_alive_timeout = 5 * SECONDS` (0.11 to 0.18); __main__.py: `--keep-alive`,
# argparse `type=int`, sets `config.keep_alive_timeout` after the config file is loaded.
KEEPALIVE_DEFAULT = 5
# src/hypercorn/asyncio/tcp_server.py `_idle_timeout`: `asyncio.wait_for(..., self.config.keep_alive_timeout)`
# then `_initiate_server_close()`; measured with hypercorn 0.18.0: idle connections close after 5.0 s, and
# with `--keep-alive 0` even a new connection is closed before its first request arrives.
_SOURCE = "https://github.com/pgjones/hypercorn/blob/main/src/hypercorn/asyncio/tcp_server.py"
_KEY = "keep_alive_timeout"

FACTS = (
    Fact(
        "hypercorn",
        f"`--keep-alive`, `{_KEY}` in the TOML config file (`-c`)",
        f"{KEEPALIVE_DEFAULT} s",
        _DOCS,
    ),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program == "hypercorn"


def _from_flag(invocation: Invocation, found: Option) -> Server:
    written = show(found.written)
    evidence = Evidence(f"`{written}` in the command", invocation.where(found.index))
    remedy = f"change `{written}` to `--keep-alive {{seconds}}` in the hypercorn command"
    seconds = integer(found.value)  # argparse type=int: anything else stops hypercorn from starting
    if seconds is None or seconds < 0:
        return Server(NAME, "", KeepAlive.unknown(evidence), None, remedy, evidence.location)
    return Server(NAME, "", KeepAlive.after(seconds, evidence), None, remedy, evidence.location)


def _from_config(invocation: Invocation, config: Option) -> Server:
    """The keep_alive_timeout of the `-c` config file, when it is a TOML file that can be read."""
    path = config.value or ""
    shown = show(path)
    where = invocation.where(config.index)
    add_flag = "add `--keep-alive {seconds}` to the hypercorn command"

    def unknown(says: str, location: Location = where) -> Server:
        return Server(NAME, "", KeepAlive.unknown(Evidence(says, location)), None, add_flag, where)

    if path.startswith(("file:", "python:")):
        return unknown(
            f"--keep-alive is not on the command line, and the Python config `{shown}` may set {_KEY}: "
            "hypercorn runs it to read it, keepalive-guard does not"
        )
    found = invocation.file(path) if UNKNOWN_PART not in path else None
    if found is None:
        return unknown(
            f"--keep-alive is not on the command line, and the config file `{shown}` (not visible in the "
            f"scanned files) may set {_KEY}"
        )
    if found.text is None:
        return unknown(f"the config file `{shown}` cannot be read ({found.problem})", found.location)
    try:
        settings = tomllib.loads(found.text)
    except tomllib.TOMLDecodeError as error:
        return unknown(f"the config file `{shown}` is not valid TOML ({error})", found.location)
    value = settings.get(_KEY)
    line = _line_of(found.text, _KEY)
    if value is None:
        says = f"neither --keep-alive nor {_KEY} in `{shown}` given: hypercorn's default is {KEEPALIVE_DEFAULT} s"
        evidence = Evidence(says, found.location, _DOCS)
        return Server(NAME, "", KeepAlive.after(KEEPALIVE_DEFAULT, evidence), None, add_flag, where)
    location = Location(found.location.path, line)
    remedy = f"set `{_KEY} = {{seconds}}` in {shown}"
    evidence = Evidence(f"`{_KEY} = {value!r}` in {shown}", location)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return Server(NAME, "", KeepAlive.unknown(evidence), None, remedy, location)
    return Server(NAME, "", KeepAlive.after(value, evidence), None, remedy, location)


def _line_of(text: str, key: str) -> int | None:
    """The last line that assigns `key` at the top of a TOML file (hypercorn reads top-level keys only)."""
    found = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            break
        if stripped.split("=", 1)[0].strip().strip("\"'") == key and "=" in stripped:
            found = number
    return found


def analyse(invocation: Invocation) -> Server:
    found = option(invocation.args, ("--keep-alive",))
    if found is not None:
        return _from_flag(invocation, found)
    config = option(invocation.args, ("-c", "--config"))
    if config is not None:
        return _from_config(invocation, config)
    says = f"no --keep-alive given: hypercorn's default is {KEEPALIVE_DEFAULT} s"
    evidence = Evidence(says, invocation.location, _DOCS)
    remedy = "add `--keep-alive {seconds}` to the hypercorn command"
    return Server(NAME, "", KeepAlive.after(KEEPALIVE_DEFAULT, evidence), None, remedy, invocation.location)
