"""unicorn: never keeps a connection alive, so there is no idle timeout to race.

Every response carries `Connection: close` and unicorn closes the socket after it (lib/unicorn/
http_response.rb, http_server.rb "no keepalive"). Its `timeout` (default 60 s, set in the `-c` config
file) makes the master SIGKILL a worker busy with one request for longer: a request bound.
"""

from __future__ import annotations

from policies.model import UNKNOWN_PART, Location, show
from policies.servers.argv import option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, RequestTimeout, Server
from policies.servers.puma import ruby_calls, ruby_integer

NAME = "unicorn"
RECOGNISED = "`unicorn`, `unicorn_rails`, with the `-c` config file when the Dockerfile copies it"
# lib/unicorn/http_response.rb http_response_write: "Connection: close\r\n" in every response;
# lib/unicorn/http_server.rb process_client: `client.close # flush and uncork socket immediately, no keepalive`
_CLOSE_SOURCE = "https://github.com/defunkt/unicorn/blob/master/lib/unicorn/http_response.rb"
# lib/unicorn/configurator.rb DEFAULTS `:timeout => 60`; `timeout(seconds)`: "Workers handling the
# request/app.call/response cycle taking longer than this time period will be forcibly killed (via SIGKILL)."
TIMEOUT_DEFAULT = 60
_TIMEOUT_SOURCE = "https://github.com/defunkt/unicorn/blob/master/lib/unicorn/configurator.rb"

FACTS = (
    Fact("unicorn", "none: `Connection: close` on every response", "no keep-alive", _CLOSE_SOURCE, "-"),
    Fact(
        "unicorn request bound",
        "`timeout` in the `-c` config file",
        f"{TIMEOUT_DEFAULT} s",
        _TIMEOUT_SOURCE,
        "whole seconds",
    ),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program in ("unicorn", "unicorn_rails")


def _request_timeout(invocation: Invocation) -> RequestTimeout | None:
    """The `timeout` of the `-c`/`--config-file` file (bin/unicorn; there is no default config file),
    or the default; None when the config file cannot be read."""
    config = option(invocation.args, ("-c", "--config-file"))
    if config is None:
        says = f"no config file (-c): unicorn's default timeout is {TIMEOUT_DEFAULT} s"
        return RequestTimeout(TIMEOUT_DEFAULT, Evidence(says, invocation.location, _TIMEOUT_SOURCE))
    path = config.value or ""
    found = invocation.file(path) if UNKNOWN_PART not in path else None
    if found is None or found.text is None:
        return None
    calls = ruby_calls(found.text, ("timeout",))
    if not calls:
        says = f"{show(path)} sets no timeout: unicorn's default is {TIMEOUT_DEFAULT} s"
        return RequestTimeout(TIMEOUT_DEFAULT, Evidence(says, found.location, _TIMEOUT_SOURCE))
    call = calls[-1]
    value = ruby_integer(call.argument, invocation)
    if call.conditional or value.number is None or value.number <= 0:
        return None
    written = f"`timeout {call.argument}` in {show(path)}"
    says = f"{written} ({value.says})" if value.says else written
    return RequestTimeout(
        value.number, Evidence(says, Location(found.location.path, call.line), _TIMEOUT_SOURCE)
    )


def analyse(invocation: Invocation) -> Server:
    says = "unicorn answers every request with `Connection: close` and closes the connection"
    keep_alive = KeepAlive(Mode.NO_KEEP_ALIVE, Evidence(says, invocation.location, _CLOSE_SOURCE))
    return Server(NAME, "", keep_alive, _request_timeout(invocation))
