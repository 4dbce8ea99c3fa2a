"""daphne: Twisted closes idle connections after 60 s, and daphne has no setting to change it.

daphne builds Twisted's `HTTPFactory` without a timeout (daphne/http_protocol.py `HTTPFactory.__init__`
calls `http.HTTPFactory.__init__(self)`), so Twisted's idle timeout of 60 s applies: the channel stops
the timer while a request is handled and restarts it when the response is done. 60 s is also the load
balancer's default idle timeout, which is a race, and no flag, environment variable or config file
changes it: only a lower idle timeout on the load balancer helps. `-t/--http-timeout` (default none)
answers 503 to a request that has no response after that many seconds, checked every 2 s: a request
bound.
"""

from __future__ import annotations

from policies.model import show
from policies.servers.argv import option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, RequestTimeout, Server
from policies.servers.units import integer

NAME = "daphne"
RECOGNISED = "`daphne`, `python -m daphne`"
# src/twisted/web/http.py: `_REQUEST_TIMEOUT = 1 * 60` and `HTTPFactory.__init__(..., timeout=_REQUEST_TIMEOUT)`,
# "the idle connection timeout in seconds" (60 s since Twisted 16.3, twisted/twisted#3746; daphne 4 requires
# Twisted >= 22.4). HTTPChannel: `self._savedTimeOut = self.setTimeout(None)` when a request arrives,
# `self.setTimeout(self._savedTimeOut)` in requestDone. Measured with daphne 4.2.3 and Twisted 26.10.0: an
# idle keep-alive connection is closed 60.0 s after the response.
IDLE_TIMEOUT = 60
_TWISTED = "https://github.com/twisted/twisted/blob/trunk/src/twisted/web/http.py"
# daphne/server.py: `reactor.callLater(2, self.timeout_checker)`, repeated; daphne/http_protocol.py
# check_timeouts: `if self.server.http_timeout and self.duration() > self.server.http_timeout:` 503
# "Application failed to respond within time limit." (or finish() when the response has started).
CHECK_INTERVAL = 2
_HTTP_TIMEOUT = "https://github.com/django/daphne/blob/main/daphne/http_protocol.py"

FACTS = (
    Fact("daphne", "none: Twisted's `HTTPFactory` timeout", f"{IDLE_TIMEOUT} s", _TWISTED, "-"),
    Fact("daphne request bound", "`-t`/`--http-timeout`", "none", _HTTP_TIMEOUT),
)


def recognises(invocation: Invocation) -> bool:
    return invocation.program == "daphne"


def _request_timeout(invocation: Invocation) -> RequestTimeout | None:
    found = option(invocation.args, ("-t", "--http-timeout"))
    seconds = integer(found.value) if found is not None else None  # argparse type=int
    if found is None or seconds is None or seconds <= 0:
        return None
    bound = seconds + CHECK_INTERVAL
    says = (
        f"`{show(found.written)}` in the command: daphne answers 503 to a request still without a response "
        f"after {seconds} s, checked every {CHECK_INTERVAL} s, so at most {bound} s"
    )
    return RequestTimeout(bound, Evidence(says, invocation.where(found.index), _HTTP_TIMEOUT))


def analyse(invocation: Invocation) -> Server:
    says = f"daphne has no keep-alive setting: Twisted's HTTPFactory closes idle connections after {IDLE_TIMEOUT} s"
    keep_alive = KeepAlive.after(IDLE_TIMEOUT, Evidence(says, invocation.location, _TWISTED))
    return Server(NAME, "", keep_alive, _request_timeout(invocation))
