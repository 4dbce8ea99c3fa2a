"""Node.js servers: plain `node`, Next.js, and the package-manager scripts that start them.

Node's `http.Server` closes idle keep-alive connections after `server.keepAliveTimeout`: 5 s up to
Node 25, 65 s from Node 26. There is no flag or environment variable for it, so the Node version (read
from the image tag) decides, unless the app sets it in code and declares that with the docker label
`keepalive-guard.keep-alive-seconds`. `next start --keepAliveTimeout` takes milliseconds; the
standalone `server.js` that `output: 'standalone'` generates reads KEEP_ALIVE_TIMEOUT (milliseconds).
"""

from __future__ import annotations

import re

from policies.model import UNKNOWN_PART, show
from policies.servers.argv import number, option
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Server

NAME = "node"
# Node.js docs, server.keepAliveTimeout: "Default: 5000" (v8 to v26). nodejs/node#62782 ("http: increase
# keepAliveTimeout default to 65 seconds", semver-major) merged after 26.0.0 and is not among its
# semver-major commits (doc/changelogs/CHANGELOG_V26.md), so 65000 comes with the next major, 27.
_DOCS_OLD = "https://nodejs.org/docs/latest-v24.x/api/http.html#serverkeepalivetimeout"
_DOCS_NEW = "https://github.com/nodejs/node/pull/62782"
OLD_DEFAULT, NEW_DEFAULT, NEW_SINCE = 5, 65, 27
# packages/next/src/cli/next-start.ts: '--keepAliveTimeout': Number, passed to server.keepAliveTimeout.
_NEXT_DOCS = "https://nextjs.org/docs/app/api-reference/cli/next#next-start-options"
_LABEL_REMEDY = (
    "run Node 27 or newer, or set `server.keepAliveTimeout = {milliseconds}` in the app (keep `headersTimeout` "
    'above it) and declare it with the docker label `keepalive-guard.keep-alive-seconds = "{seconds}"`'
)

FACTS = (
    Fact(
        "Node.js `http.Server` (Express, Koa, NestJS...), Node ≤ 25",
        "`server.keepAliveTimeout` in code only",
        f"{OLD_DEFAULT} s",
        _DOCS_OLD,
    ),
    Fact(
        "Node.js `http.Server`, Node ≥ 26",
        "`server.keepAliveTimeout` in code only",
        f"{NEW_DEFAULT} s",
        _DOCS_NEW,
    ),
    Fact("Next.js `next start`", "`--keepAliveTimeout` (milliseconds)", "Node's default", _NEXT_DOCS),
    Fact(
        "Next.js standalone `server.js`", "`KEEP_ALIVE_TIMEOUT` (milliseconds)", "Node's default", _NEXT_DOCS
    ),
)

_NODE_VALUES = frozenset(
    {
        "-r",
        "--require",
        "--import",
        "--loader",
        "--experimental-loader",
        "-e",
        "--eval",
        "--env-file",
        "--title",
        "--conditions",
        "-C",
    }
)
_SCRIPT_RUNNERS = frozenset({"npm", "yarn", "pnpm"})


def recognises(invocation: Invocation) -> bool:
    return invocation.program in ("node", "nodejs", "next") or invocation.program in _SCRIPT_RUNNERS


def node_major(image: str | None) -> int | None:
    """The Node major version an image reference names: node:20-alpine, node:22.3, distroless nodejs20."""
    if not image or UNKNOWN_PART in image:
        return None
    reference = image.split("@", 1)[0]
    name, _, tag = reference.rpartition(":") if ":" in reference.rsplit("/", 1)[-1] else (reference, "", "")
    repository = name.rsplit("/", 1)[-1]
    if repository == "node":
        match = re.match(r"v?(\d+)(?:[.\-]|$)", tag)
        return int(match.group(1)) if match else None
    match = re.fullmatch(r"nodejs(\d+)(?:-.*)?", repository)
    return int(match.group(1)) if match else None


def node_default(invocation: Invocation, what: str, assumption: str = "") -> KeepAlive:
    image = invocation.image.value
    major = node_major(image)
    if major is None:
        shown = f"`{show(image)}`" if image else "an unknown image"
        says = (
            f"{what} uses Node's default keepAliveTimeout, which is {OLD_DEFAULT} s up to Node 26 and "
            f"{NEW_DEFAULT} s from Node 27, and the image {shown} does not say which Node it runs"
        )
        return KeepAlive.unknown(Evidence(says, invocation.image.location))
    seconds, source = (OLD_DEFAULT, _DOCS_OLD) if major < NEW_SINCE else (NEW_DEFAULT, _DOCS_NEW)
    says = f"{what} on Node {major} (image `{show(image or '')}`): default keepAliveTimeout {seconds} s"
    if assumption:
        says += f" ({assumption})"
    return KeepAlive.after(seconds, Evidence(says, invocation.image.location, source))


def _milliseconds(text: str | None, evidence: Evidence, invocation: Invocation, what: str) -> KeepAlive:
    value = number(text)
    if value is None:
        return KeepAlive.unknown(evidence)
    if not value:
        # start-server.ts: `if (keepAliveTimeout) server.keepAliveTimeout = keepAliveTimeout`: 0 keeps the default
        return node_default(invocation, f"{what} (0 leaves Node's default in place)")
    return KeepAlive.after(value / 1000, evidence)


def _next(invocation: Invocation, args: tuple[str, ...]) -> Server:
    subcommand = next((arg for arg in args if not arg.startswith("-")), "start")
    found = option(args, ("--keepAliveTimeout",))
    if found is not None:
        evidence = Evidence(
            f"`{show(found.written)}` (milliseconds) in the command", invocation.location, _NEXT_DOCS
        )
        remedy = (
            f"change `{show(found.written)}` to `--keepAliveTimeout {{milliseconds}}` in the next command"
        )
        return Server(
            "Next.js",
            f"next {subcommand}",
            _milliseconds(found.value, evidence, invocation, f"next {subcommand}"),
            None,
            remedy,
            invocation.location,
        )
    remedy = "add `--keepAliveTimeout {milliseconds}` to `next start`"
    keep_alive = node_default(invocation, f"next {subcommand} without --keepAliveTimeout")
    return Server("Next.js", f"next {subcommand}", keep_alive, None, remedy, invocation.location)


def analyse(invocation: Invocation) -> Server:
    program, args = invocation.program, invocation.args
    if program == "next":
        return _next(invocation, args)
    if program in _SCRIPT_RUNNERS:
        words = [arg for arg in args if not arg.startswith("-")]
        runs_next = words[:1] == ["next"] or words[:2] == ["exec", "next"]
        if runs_next:  # `yarn next start`, `pnpm exec next start`
            return _next(invocation, args[args.index("next") + 1 :])
        script = " ".join(words[:2]) if words[:1] == ["run"] else (words[0] if words else "start")
        says = (
            f"`{program} {script}` runs a package.json script, which keepalive-guard does not read yet; "
            "declare the server's keep-alive with the docker label keepalive-guard.keep-alive-seconds"
        )
        return Server(NAME, f"{program} {script}", KeepAlive.unknown(Evidence(says, invocation.location)))
    index = 0
    while index < len(args) and args[index].startswith("-"):
        index += 2 if args[index] in _NODE_VALUES else 1
    script = args[index] if index < len(args) else ""
    rest = args[index + 1 :]
    if re.search(r"(^|/)next(/dist/bin/next)?$", script):
        return _next(invocation, rest)
    environment = invocation.env.get("KEEP_ALIVE_TIMEOUT")
    if script.endswith("server.js") and environment is not None:
        # Next.js standalone output: server.js does `keepAliveTimeout = parseInt(process.env.KEEP_ALIVE_TIMEOUT, 10)`.
        says = f"KEEP_ALIVE_TIMEOUT={show(environment.value or '?')} (milliseconds), read by the Next.js standalone server.js"
        evidence = Evidence(says, environment.location, _NEXT_DOCS)
        keep_alive = (
            _milliseconds(environment.value, evidence, invocation, "the standalone server.js")
            if environment.value is not None
            else KeepAlive.unknown(evidence)
        )
        return Server(
            "Next.js",
            "standalone server.js",
            keep_alive,
            None,
            "set KEEP_ALIVE_TIMEOUT={milliseconds}",
            environment.location,
        )
    # Express, Koa and NestJS on Express use http.Server as it comes; Fastify sets 72 s (fastify v4+).
    assumption = (
        "assuming the app serves with Node's http.Server defaults, as Express and Koa do; Fastify sets 72 s"
    )
    keep_alive = node_default(invocation, f"`node {show(script)}`" if script else "node", assumption)
    return Server(NAME, show(script), keep_alive, None, _LABEL_REMEDY, invocation.location)
