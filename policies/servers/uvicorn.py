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
RECOGNISED = "`uvicorn`, `python -m uvicorn`, `fastapi run` (FastAPI CLI)"
_SETTINGS = "https://www.uvicorn.org/settings/#timeouts"
# uvicorn/config.py: `timeout_keep_alive: int = 5`; main.py: `--timeout-keep-alive`, default 5.
KEEPALIVE_DEFAULT = 5
_ENV = "UVICORN_TIMEOUT_KEEP_ALIVE"  # main.py: context_settings={"auto_envvar_prefix": "UVICORN"}

# fastapi-cli (src/fastapi_cli/cli.py, `_run`): `uvicorn.run(app=..., host, port, reload, workers,
# root_path, proxy_headers)`: no timeout_keep_alive, and uvicorn.run() reads no UVICORN_* variables
# (only uvicorn's own click command does), so `fastapi run` keeps connections alive for uvicorn's 5 s.
_FASTAPI_CLI = "https://github.com/fastapi/fastapi-cli/blob/main/src/fastapi_cli/cli.py"


FACTS = (
    Fact("uvicorn", f"`--timeout-keep-alive`, `{_ENV}`", f"{KEEPALIVE_DEFAULT} s", _SETTINGS),
    Fact(
        "FastAPI CLI `fastapi run`", "none (uvicorn's default)", f"{KEEPALIVE_DEFAULT} s", _FASTAPI_CLI, "-"
    ),
)


def recognises(invocation: Invocation) -> bool:
    program, args = invocation.program, invocation.args
    return program == "uvicorn" or (program == "fastapi" and args[:1] in (("run",), ("dev",)))


def _fastapi(invocation: Invocation) -> Server:
    says = (
        f"`fastapi {invocation.args[0]}` starts uvicorn with its default timeout_keep_alive, "
        f"{KEEPALIVE_DEFAULT} s; fastapi-cli has no option for it"
    )
    evidence = Evidence(says, invocation.location, _FASTAPI_CLI)
    remedy = (
        "serve with `uvicorn <module>:app --host 0.0.0.0 --timeout-keep-alive {seconds}` instead of "
        f"`fastapi {invocation.args[0]}`"
    )
    return Server(
        "FastAPI CLI",
        f"fastapi {invocation.args[0]}",
        KeepAlive.after(KEEPALIVE_DEFAULT, evidence),
        None,
        remedy,
        invocation.location,
    )


def analyse(invocation: Invocation) -> Server:
    if invocation.program == "fastapi":
        return _fastapi(invocation)
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
