"""uvicorn: closes idle connections after `--timeout-keep-alive` seconds (default 5).

uvicorn reads every option from `UVICORN_*` environment variables too (click's auto_envvar_prefix);
the command line wins. `0` schedules the close immediately after each response without telling the
client, which is still a race. uvicorn has no per-request timeout.
"""

from __future__ import annotations

from policies.model import show
from policies.servers.argv import number, option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Server

NAME = "uvicorn"
RECOGNISED = "`uvicorn`, `python -m uvicorn`"
_SETTINGS = "https://www.uvicorn.org/settings/#timeouts"
# uvicorn/config.py: `timeout_keep_alive: int = 5`; main.py: `--timeout-keep-alive`, default 5.
KEEPALIVE_DEFAULT = 5
_ENV = "UVICORN_TIMEOUT_KEEP_ALIVE"  # main.py: context_settings={"auto_envvar_prefix": "UVICORN"}

FACTS = (Fact("uvicorn", f"`--timeout-keep-alive`, `{_ENV}`", f"{KEEPALIVE_DEFAULT} s", _SETTINGS),)


def recognises(invocation: Invocation) -> bool:
    return invocation.program == "uvicorn"


def analyse(invocation: Invocation) -> Server:
    found = option(invocation.args, ("--timeout-keep-alive",))
    env = invocation.env_value(_ENV)
    remedy = "add `--timeout-keep-alive {seconds}` to the uvicorn command"
    if found is not None:
        text, evidence = (
            found.value,
            Evidence(f"`{show(found.written)}` in the command", invocation.where(found.index)),
        )
        remedy = (
            f"change `{show(found.written)}` to `--timeout-keep-alive {{seconds}}` in the uvicorn command"
        )
    elif env is not None:
        if env.value is None:
            return Server(
                NAME, "", KeepAlive.unknown(Evidence(f"{_ENV} is not known ({env.note})", env.location))
            )
        text, evidence = env.value, Evidence(f"{_ENV}={show(env.value)}", env.location)
        remedy = f"set {_ENV}={{seconds}}"
    else:
        says = f"no --timeout-keep-alive given: uvicorn's default is {KEEPALIVE_DEFAULT} s"
        text, evidence = str(KEEPALIVE_DEFAULT), Evidence(says, invocation.location, _SETTINGS)
    seconds = number(text)
    if seconds is None:
        return Server(NAME, "", KeepAlive.unknown(evidence))
    where = evidence.location if found is not None or env is not None else invocation.location
    return Server(NAME, "", KeepAlive.after(seconds, evidence), None, remedy, where)
