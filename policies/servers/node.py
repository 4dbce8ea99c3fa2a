"""Node.js servers: plain `node`, Next.js, and the package-manager scripts that start them.

Node's `http.Server` closes idle keep-alive connections after `server.keepAliveTimeout`: 5 s up to
Node 26, 65 s from Node 27. There is no flag or environment variable for it, so the Node version (read
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
# packages/next/src/cli/next-start.ts: '--keepAliveTimeout': Number, passed to server.keepAliveTimeout;
# start-server.ts only applies it when truthy, so 0 leaves Node's default.
_NEXT_DOCS = "https://nextjs.org/docs/app/api-reference/cli/next#next-start-options"
_IN_CODE = (
    "set `server.keepAliveTimeout = {milliseconds}` in the app (keep `headersTimeout` above it) and declare it "
    'with the docker label `keepalive-guard.keep-alive-seconds = "{seconds}"`'
)
# Express, Koa and NestJS on Express serve with http.Server as it comes; Fastify sets 72 s (fastify v4+,
# build/build-validation.js).
_ASSUMPTION = (
    "assuming the app serves with Node's http.Server defaults, as Express and Koa do; Fastify sets 72 s"
)

FACTS = (
    Fact(
        f"Node.js `http.Server` (Express, Koa, NestJS...), Node ≤ {NEW_SINCE - 1}",
        "`server.keepAliveTimeout` in code only",
        f"{OLD_DEFAULT} s",
        _DOCS_OLD,
    ),
    Fact(
        f"Node.js `http.Server`, Node ≥ {NEW_SINCE}",
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


def _default_remedy(invocation: Invocation) -> str:
    """How to raise Node's default: a newer Node where that helps, else code plus a declaration."""
    major = node_major(invocation.image.value)
    if major is not None and major >= NEW_SINCE:
        return _IN_CODE
    return f"run Node {NEW_SINCE} or newer, or {_IN_CODE}"


def node_default(invocation: Invocation, what: str, assumption: str = "") -> KeepAlive:
    image = invocation.image.value
    major = node_major(image)
    suffix = f" ({assumption})" if assumption else ""
    if major is None:
        shown = f"`{show(image)}`" if image else "an unknown image"
        says = (
            f"{what} uses Node's default keepAliveTimeout, which is {OLD_DEFAULT} s up to Node {NEW_SINCE - 1} and "
            f"{NEW_DEFAULT} s from Node {NEW_SINCE}, and the image {shown} does not say which Node it runs"
        )
        return KeepAlive.unknown(Evidence(says + suffix, invocation.image.location))
    seconds, source = (OLD_DEFAULT, _DOCS_OLD) if major < NEW_SINCE else (NEW_DEFAULT, _DOCS_NEW)
    says = (
        f"{what} on Node {major} (image `{show(image or '')}`): default keepAliveTimeout {seconds} s{suffix}"
    )
    return KeepAlive.after(seconds, Evidence(says, invocation.image.location, source))


def _milliseconds(text: str | None, evidence: Evidence, invocation: Invocation, what: str) -> KeepAlive:
    value = number(text)
    if value is None:
        return KeepAlive.unknown(evidence)
    if not value:
        return node_default(invocation, f"{what} (0 leaves Node's default in place)")
    return KeepAlive.after(value / 1000, evidence)


def _next(invocation: Invocation, args: tuple[str, ...]) -> Server:
    subcommand = next((arg for arg in args if not arg.startswith("-")), "start")
    what = f"next {subcommand}"
    found = option(args, ("--keepAliveTimeout",))
    if found is None:
        keep_alive = node_default(invocation, f"{what} without --keepAliveTimeout")
        remedy = "add `--keepAliveTimeout {milliseconds}` to `next start`"
        return Server("Next.js", what, keep_alive, None, remedy, invocation.location)
    written = show(found.written)
    evidence = Evidence(f"`{written}` (milliseconds) in the command", invocation.location, _NEXT_DOCS)
    keep_alive = _milliseconds(found.value, evidence, invocation, what)
    remedy = f"change `{written}` to `--keepAliveTimeout {{milliseconds}}` in the next command"
    return Server("Next.js", what, keep_alive, None, remedy, invocation.location)


def _package_script(invocation: Invocation) -> Server:
    program, args = invocation.program, invocation.args
    words = [arg for arg in args if not arg.startswith("-")]
    if words[:1] == ["next"] or words[:2] == ["exec", "next"]:  # `yarn next start`, `pnpm exec next start`
        return _next(invocation, args[args.index("next") + 1 :])
    script = " ".join(words[:2]) if words[:1] == ["run"] else (words[0] if words else "start")
    says = f"`{program} {script}` runs a package.json script, which keepalive-guard does not read yet"
    return Server(NAME, f"{program} {script}", KeepAlive.unknown(Evidence(says, invocation.location)))


def analyse(invocation: Invocation) -> Server:
    program, args = invocation.program, invocation.args
    if program == "next":
        return _next(invocation, args)
    if program in _SCRIPT_RUNNERS:
        return _package_script(invocation)
    index = 0
    while index < len(args) and args[index].startswith("-"):
        index += 2 if args[index] in _NODE_VALUES else 1
    script = args[index] if index < len(args) else ""
    if re.search(r"(^|/)next(/dist/bin/next)?$", script):
        return _next(invocation, args[index + 1 :])
    environment = invocation.env.get("KEEP_ALIVE_TIMEOUT")
    if script.endswith("server.js") and environment is not None:
        # Next.js standalone output: server.js does `keepAliveTimeout = parseInt(process.env.KEEP_ALIVE_TIMEOUT, 10)`.
        says = f"KEEP_ALIVE_TIMEOUT={show(environment.value or '?')} (milliseconds), read by the Next.js standalone server.js"
        evidence = Evidence(says, environment.location, _NEXT_DOCS)
        if environment.value is None:
            keep_alive = KeepAlive.unknown(evidence)
        else:
            keep_alive = _milliseconds(environment.value, evidence, invocation, "the standalone server.js")
        remedy = "set KEEP_ALIVE_TIMEOUT={milliseconds}"
        return Server("Next.js", "standalone server.js", keep_alive, None, remedy, environment.location)
    keep_alive = node_default(invocation, f"`node {show(script)}`" if script else "node", _ASSUMPTION)
    return Server(NAME, show(script), keep_alive, None, _default_remedy(invocation), invocation.location)
