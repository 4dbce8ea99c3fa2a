"""The server catalog: from a container to what its server does with idle connections.

`SERVERS` is the registry: one module per server family, each with `NAME`, `FACTS` (the README's
supported-servers table), `recognises(invocation)` and `analyse(invocation)`. Adding a server is one
new module and one line here.
"""

from __future__ import annotations

import re
from dataclasses import replace
from types import ModuleType

from policies.model import UNKNOWN_PART, Container, Setting, show
from policies.servers import (
    apache,
    caddy,
    daphne,
    devserver,
    envoy,
    golang,
    granian,
    gunicorn,
    haproxy,
    hypercorn,
    kestrel,
    nginx,
    node,
    passenger,
    puma,
    spring,
    thruster,
    traefik,
    unicorn,
    uvicorn,
    uwsgi,
    waitress,
)
from policies.servers.argv import command_line, invocations, number
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Mode, RequestTimeout, Server

SERVERS: tuple[ModuleType, ...] = (
    # Python
    gunicorn,
    uvicorn,
    uwsgi,
    hypercorn,
    daphne,
    waitress,
    granian,
    devserver,
    # Node.js
    node,
    # Ruby
    thruster,
    puma,
    unicorn,
    passenger,
    # JVM, .NET
    spring,
    kestrel,
    # proxies as targets
    nginx,
    apache,
    traefik,
    envoy,
    haproxy,
    caddy,
    # last: a Go binary is recognised by how it was built, when nothing above knows the program
    golang,
)

MAX_EXPANSIONS = 8  # a script that runs a script that runs a script...: deeper is a loop
MAX_COMMANDS = 1000  # commands one container runs, scripts expanded: more is not a real start-up
KEEP_ALIVE_LABEL = "keepalive-guard.keep-alive-seconds"
REQUEST_TIMEOUT_LABEL = "keepalive-guard.request-timeout-seconds"
_DECLARE = (
    "make sure the server keeps idle connections longer than the idle timeout ({seconds} s, say) and declare "
    f'it with the docker label `{KEEP_ALIVE_LABEL} = "{{seconds}}"`'
)

__all__ = [
    "KEEP_ALIVE_LABEL",
    "REQUEST_TIMEOUT_LABEL",
    "SERVERS",
    "Evidence",
    "Fact",
    "Mode",
    "Server",
    "identify",
    "servers_table",
]


def servers_table() -> str:
    """The supported-servers table (Markdown), as the README and `keepalive-guard servers` show it."""
    rows = [
        "| server | recognised by | keep-alive set by | unit | default | source |",
        "|---|---|---|---|---|---|",
    ]
    for family in SERVERS:
        for index, fact in enumerate(family.FACTS):
            recognised = family.RECOGNISED if index == 0 else ""
            rows.append(
                f"| {fact.server} | {recognised} | {fact.setting} | {fact.unit} | {fact.default} | [source]({fact.source}) |"
            )
    return "\n".join(rows)


def _recognised(invocation: Invocation) -> ModuleType | None:
    return next((family for family in SERVERS if family.recognises(invocation)), None)


def _mentions_port(invocation: Invocation, port: int) -> bool:
    pattern = re.compile(rf"(^|[:=]){port}$")
    return any(pattern.search(arg) for arg in invocation.args)


def _image_default(container: Container) -> Container:
    """The container with what its image runs by itself filled in: the image's own command when neither
    the task definition nor a known Dockerfile sets one and a family knows that (base) image, and the
    program an official image's entrypoint puts before the command."""
    build = container.build
    nothing_set = container.entry_point is None and container.command is None
    image = build.base if build is not None else container.image
    if nothing_set and (build is None or build.inherits_command) and image.value is not None:
        for family in SERVERS:
            command = getattr(family, "image_command", lambda _image: None)(image.value)
            if command:
                note = f"the image {show(image.value)} runs this by itself"
                return replace(container, command=Setting(tuple(command), image.location, note=note))
    return _options_for_image(container)


def _options_for_image(container: Container) -> Container:
    """A command with no ENTRYPOINT visible goes to the image's own: the official images of some servers
    prepend their program to some commands (Traefik's, HAProxy's and Envoy's to options, Node's to a
    script), which `image_entrypoint(image, command)` says."""
    entry_point, command = command_line(container)
    build = container.build
    if entry_point is not None or command is None or not command.value:
        return container
    image = build.base if build is not None else container.image
    for family in SERVERS:
        hook = getattr(family, "image_entrypoint", None)
        program = hook(image.value or "", command.value) if hook is not None else None
        if program:
            note = f"the entrypoint of the image {show(image.value or '')} runs {' '.join(program)} with this command"
            return replace(
                container, entry_point=Setting(tuple(program), image.location, note=note), command=command
            )
    return container


def _expanded(found: list[Invocation], depth: int = 0, budget: list[int] | None = None) -> list[Invocation]:
    """The commands with those that run other commands (`npm start`, pm2-runtime) replaced by what
    they run, when a family can see it (a `expands(invocation)` function); at most MAX_COMMANDS in
    all, so scripts that run several scripts that run several scripts cannot multiply without end."""
    budget = budget if budget is not None else [MAX_COMMANDS]
    commands: list[Invocation] = []
    for invocation in found:
        if budget[0] <= 0:
            break
        family = _recognised(invocation)
        expands = getattr(family, "expands", None)
        more = expands(invocation) if expands is not None and depth < MAX_EXPANSIONS else None
        if more:
            commands.extend(_expanded(more, depth + 1, budget))
        else:
            commands.append(invocation)
            budget[0] -= 1
    return commands


def _inferred(container: Container, port: int | None) -> Server:
    found, problem = invocations(_image_default(container))
    found = _expanded([replace(invocation, port=port) for invocation in found])
    candidates = [(invocation, family) for invocation in found if (family := _recognised(invocation))]
    if not candidates:
        if not problem:
            commands = "; ".join(f"`{show(' '.join(invocation.argv))}`" for invocation in found[-3:])
            problem = f"{commands} is not a server keepalive-guard recognises"
        location = container.command.location if container.command else container.location
        remedy = ""
        if container.build is None and container.entry_point is None:
            remedy = f"map the image to the Dockerfile that builds it with `--dockerfile IMAGE=PATH`, or {_DECLARE}"
        return Server("unknown", "", KeepAlive.unknown(Evidence(problem, location)), None, remedy)
    if len(candidates) > 1 and port is not None:
        on_port = [candidate for candidate in candidates if _mentions_port(candidate[0], port)]
        candidates = on_port or candidates
    invocation, family = candidates[-1]  # of a chain such as `migrate && exec gunicorn`, the last server runs
    server: Server = family.analyse(invocation)
    if invocation.via:  # `npm start` ran it: say so
        started = f"started by {' → '.join(invocation.via)}"
        server = replace(server, detail=f"{server.detail}, {started}" if server.detail else started)
    hidden = _hidden_options(invocation)
    if hidden is not None and server.keep_alive.mode is not Mode.UNKNOWN:
        why = f": {invocation.unknown_note}" if invocation.unknown_note else ""
        says = (
            f"`{show(' '.join(invocation.argv))}` has an argument whose value is not visible (<?>{why}), which "
            f"may set the server's options; without it, {server.keep_alive.evidence.says}"
        )
        server = replace(server, keep_alive=KeepAlive.unknown(Evidence(says, invocation.where(hidden))))
    evidence = server.keep_alive.evidence
    shows_unknown = UNKNOWN_PART in evidence.says or show(UNKNOWN_PART) in evidence.says
    if (
        server.keep_alive.mode is Mode.UNKNOWN
        and shows_unknown
        and invocation.unknown_note
        and hidden is None
    ):
        # the <?> in the command: say why it is unknown
        says = f"{evidence.says} (<?>: {invocation.unknown_note})"
        server = replace(
            server, keep_alive=KeepAlive.unknown(Evidence(says, evidence.location, evidence.source))
        )
    return server


def _hidden_options(invocation: Invocation) -> int | None:
    """The index of an argument that is wholly unknown (`$GUNICORN_OPTS` not visible) and not the value
    of the option before it (`--port $PORT`): it may hold any options, so no default can be trusted."""
    args = invocation.args
    for index, arg in enumerate(args):
        previous = args[index - 1] if index else ""
        if arg == UNKNOWN_PART and not (previous.startswith("-") and "=" not in previous):
            return index
    return None


def _declared_keep_alive(container: Container) -> KeepAlive | None:
    label = container.labels().get(KEEP_ALIVE_LABEL)
    if label is None:
        return None
    if label.value is None:
        return KeepAlive.unknown(
            Evidence(f"label {KEEP_ALIVE_LABEL} is not known ({label.note})", label.location)
        )
    text = label.value.strip().lower()
    evidence = Evidence(
        f'declared with the docker label {KEEP_ALIVE_LABEL} = "{show(label.value)}"', label.location
    )
    if text == "none":
        return KeepAlive(Mode.NO_KEEP_ALIVE, evidence)
    if text == "unlimited":
        return KeepAlive(Mode.NO_TIMEOUT, evidence)
    seconds = number(text)
    if seconds is None or seconds < 0:
        says = f'label {KEEP_ALIVE_LABEL} = "{show(label.value)}" is not a number of seconds, "none" or "unlimited"'
        return KeepAlive.unknown(Evidence(says, label.location))
    return KeepAlive.after(seconds, evidence)


def _declared_request_timeout(container: Container) -> RequestTimeout | None:
    label = container.labels().get(REQUEST_TIMEOUT_LABEL)
    seconds = number(label.value) if label is not None else None
    if label is None or seconds is None or seconds <= 0:
        return None
    evidence = Evidence(
        f'declared with the docker label {REQUEST_TIMEOUT_LABEL} = "{label.value}"', label.location
    )
    return RequestTimeout(seconds, evidence)


def identify(container: Container, port: int | None = None) -> Server:
    """What the server in `container` does with idle connections, and how long a request may take.

    A declaration with the docker label wins over inference and is shown as such."""
    server = _inferred(container, port)
    declared = _declared_keep_alive(container)
    request_timeout = _declared_request_timeout(container) or server.request_timeout
    if declared is not None:
        return replace(
            server,
            name=server.name if server.name != "unknown" else "declared server",
            keep_alive=declared,
            request_timeout=request_timeout,
            remedy=f"raise the server's keep-alive to {{seconds}} s and the label {KEEP_ALIVE_LABEL} with it",
            remedy_location=container.labels()[KEEP_ALIVE_LABEL].location,
        )
    if server.keep_alive.mode is Mode.UNKNOWN and not server.remedy:
        server = replace(server, remedy=_DECLARE)
    return replace(server, request_timeout=request_timeout)
