"""Node.js servers: plain `node`, Next.js, and the package-manager scripts that start them.

Node's `http.Server` closes idle keep-alive connections after `server.keepAliveTimeout`: 5 s up to
Node 26, 65 s from Node 27. There is no flag or environment variable for it, so the Node version (read
from the image tag) decides, unless the app sets it in code and declares that with the docker label
`keepalive-guard.keep-alive-seconds`. `next start --keepAliveTimeout` takes milliseconds; the
standalone `server.js` that `output: 'standalone'` generates reads KEEP_ALIVE_TIMEOUT (milliseconds).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from policies.model import UNKNOWN_PART, ImageFile, Location, show
from policies.servers.argv import number, option, script_invocations, shell_quote
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Server

NAME = "node"
RECOGNISED = (
    "`node`, `ts-node`, `tsx`, `nodemon`, `next`, `pm2-runtime`; `npm`/`yarn`/`pnpm` scripts from the "
    "image's package.json"
)
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
        "milliseconds",
    ),
    Fact(
        f"Node.js `http.Server`, Node ≥ {NEW_SINCE}",
        "`server.keepAliveTimeout` in code only",
        f"{NEW_DEFAULT} s",
        _DOCS_NEW,
        "milliseconds",
    ),
    Fact("Next.js `next start`", "`--keepAliveTimeout`", "Node's default", _NEXT_DOCS, "milliseconds"),
    Fact(
        "Next.js standalone `server.js`",
        "`KEEP_ALIVE_TIMEOUT`",
        "Node's default",
        _NEXT_DOCS,
        "milliseconds",
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


MAX_SCRIPT_DEPTH = 8  # scripts running scripts: deeper is a loop
_PM2 = frozenset({"pm2-runtime", "pm2-docker", "pm2"})
_ECOSYSTEM = re.compile(r"(\.json|\.ya?ml|\.config\.[cm]?js|ecosystem[^/]*)$")
# Programs that run a script under Node's http.Server as `node` does.
_NODE_RUNNERS = frozenset({"node", "nodejs", "ts-node", "tsx", "nodemon"})


# The official node images' docker-entrypoint.sh (nodejs/docker-node): `if [ "${1#-}" != "${1}" ] || [ -z
# "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then set -- node "$@"`.
_OFFICIAL = re.compile(r"^(docker\.io/|public\.ecr\.aws/docker/)?(library/)?node(:|@|$)")


def image_entrypoint(image: str, command: tuple[str, ...]) -> tuple[str, ...] | None:
    """The official node image runs `node` with a command of options or a script (`["server.js"]`)."""
    if UNKNOWN_PART in image or not _OFFICIAL.match(image) or not command:
        return None
    first = command[0]
    return ("node",) if first.startswith("-") or re.search(r"\.[cm]?js$", first) else None


def recognises(invocation: Invocation) -> bool:
    program = invocation.program
    if program == "pm2":  # pm2 start app.js --no-daemon: the foreground form, like pm2-runtime
        return "--no-daemon" in invocation.args
    return program in _NODE_RUNNERS or program == "next" or program in _SCRIPT_RUNNERS or program in _PM2


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


def _engines_major(invocation: Invocation) -> tuple[int, Location] | None:
    """The Node major that package.json's `engines.node` pins ("20.x", "^20.11", "~20", ">=20 <21"), when
    the image is known to hold that package.json."""
    package = _package(invocation)
    if package is None:
        return None
    data, found = package
    engines = data.get("engines") if isinstance(data, dict) else None
    wanted = engines.get("node") if isinstance(engines, dict) else None
    if not isinstance(wanted, str) or found.text is None:
        return None
    match = re.fullmatch(
        r"\s*(?:[\^~=v]|>=)?\s*(\d+)(?:\.[\dx*]+){0,2}\s*(?:<\s*(\d+)(?:\.0){0,2})?\s*", wanted
    )
    if not match:
        return None
    major, below = int(match.group(1)), match.group(2)
    if wanted.strip().startswith(">=") and (below is None or int(below) != major + 1):
        return None  # ">=18" allows any later Node
    return major, Location(found.location.path, _line_of(found.text, '"engines"'))


def _version(invocation: Invocation) -> tuple[int | None, str, Location]:
    """The Node major version, how it is known, and where."""
    image = invocation.base_image
    major = node_major(image.value)
    if major is not None:
        return major, f"image `{show(image.value or '')}`", image.location
    engines = _engines_major(invocation)
    if engines is not None:
        return engines[0], "package.json engines", engines[1]
    return None, "", image.location


def _default_remedy(invocation: Invocation) -> str:
    """How to raise Node's default: a newer Node where that helps, else code plus a declaration."""
    major = _version(invocation)[0]
    if major is not None and major >= NEW_SINCE:
        return _IN_CODE
    return f"run Node {NEW_SINCE} or newer, or {_IN_CODE}"


def node_default(invocation: Invocation, what: str, assumption: str = "") -> KeepAlive:
    image = invocation.base_image.value
    major, known_from, location = _version(invocation)
    suffix = f" ({assumption})" if assumption else ""
    if major is None:
        # The rule for versions that cannot be seen: assume the older default, and say so.
        shown = f"`{show(image)}`" if image else "an unknown image"
        says = (
            f"{what} uses Node's default keepAliveTimeout, which is {OLD_DEFAULT} s up to Node {NEW_SINCE - 1} and "
            f"{NEW_DEFAULT} s from Node {NEW_SINCE}; the image {shown} does not say which Node it runs, so "
            f"keepalive-guard assumes the older default (a versioned node image tag, or the Dockerfile that "
            "builds the image, makes it certain)"
        )
        return KeepAlive.after(OLD_DEFAULT, Evidence(says + suffix, location, _DOCS_OLD))
    seconds, source = (OLD_DEFAULT, _DOCS_OLD) if major < NEW_SINCE else (NEW_DEFAULT, _DOCS_NEW)
    says = f"{what} on Node {major} ({known_from}): default keepAliveTimeout {seconds} s{suffix}"
    return KeepAlive.after(seconds, Evidence(says, location, source))


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


def _package(invocation: Invocation) -> tuple[Any, ImageFile] | None:
    """package.json in the image's working directory, parsed, when the image is known to hold it."""
    found = invocation.file("package.json")
    if found is None or found.text is None:
        return None
    try:
        return json.loads(found.text), found
    except (ValueError, RecursionError):
        return None


def _line_of(text: str, needle: str, after: str = "") -> int:
    start = text.find(after) if after else 0
    index = text.find(needle, max(start, 0))
    return text.count("\n", 0, index) + 1 if index >= 0 else 1


def _script(invocation: Invocation) -> tuple[str, tuple[str, ...]] | None:
    """The package.json script a package manager runs, and the arguments it appends to it: npm only
    those after `--`; yarn and pnpm (7+, pnpm/pnpm#4290) every argument after the script's name."""
    program, args = invocation.program, list(invocation.args)
    # the script's name: the first word that is not an option (after `run` / `run-script`)
    index = next((i for i, arg in enumerate(args) if not arg.startswith("-")), None)
    if index is None or args[index] == "--":
        return None
    if args[index] in ("run", "run-script"):
        index = next((i for i in range(index + 1, len(args)) if not args[i].startswith("-")), None)
        if index is None:
            return None
    elif args[index] != "start" and program == "npm":
        return None
    name, after = args[index], args[index + 1 :]
    if program == "npm":
        return name, tuple(after[after.index("--") + 1 :] if "--" in after else ())
    return name, tuple(arg for arg in after if arg != "--")


def _package_script(invocation: Invocation) -> list[Invocation] | None:
    """What `npm start` (or `yarn run x`, `pnpm x`) runs, from package.json when the image holds it."""
    script = _script(invocation)
    package = _package(invocation)
    if script is None or package is None:
        return None
    (name, extra), (data, found) = script, package
    runner = f"{invocation.program} {name}"
    if runner in invocation.via or len(invocation.via) >= MAX_SCRIPT_DEPTH:
        return None  # a script that runs itself: _unexpanded says so
    scripts = data.get("scripts") if isinstance(data, dict) else None
    command = scripts.get(name) if isinstance(scripts, dict) else None
    text = found.text or ""
    if isinstance(command, str):
        location = Location(found.location.path, _line_of(text, f'"{name}"', '"scripts"'))
    elif name == "start" and invocation.program in ("npm", "pnpm"):
        # npm and pnpm docs: without a start script, `npm start` runs `node server.js`
        command, location = "node server.js", Location(found.location.path, 1)
    else:
        return None
    line = " ".join([command, *(shell_quote(arg) for arg in extra)])
    return script_invocations(invocation, line, location, runner)


def _pm2(invocation: Invocation) -> list[Invocation] | None:
    """pm2-runtime (or `pm2 start --no-daemon`) running a script: that script under node."""
    args = list(invocation.args)
    extra = args[args.index("--") + 1 :] if "--" in args else []
    args = args[: args.index("--")] if "--" in args else args
    words = [arg for arg in args if not arg.startswith("-")]
    if words[:1] == ["start"]:
        words = words[1:]
    if not words or _ECOSYSTEM.search(words[0]):
        return None
    via = (*invocation.via, invocation.program)
    if words[0] in _SCRIPT_RUNNERS:
        return [replace(invocation, argv=(words[0], *extra), locations=(), via=via)]
    return [replace(invocation, argv=("node", words[0], *extra), locations=(), via=via)]


def expands(invocation: Invocation) -> list[Invocation] | None:
    """The commands that a package manager or pm2 runs for `invocation`, when they are visible."""
    if invocation.program in _SCRIPT_RUNNERS:
        return _package_script(invocation)
    if invocation.program in _PM2:
        return _pm2(invocation)
    return None


def _unexpanded(invocation: Invocation) -> Server:
    """A package script or pm2 app whose command is not visible."""
    program, args = invocation.program, invocation.args
    if program in _PM2:
        words = [arg for arg in args if not arg.startswith("-") and arg != "start"]
        what = f"pm2 runs the apps of `{show(words[0])}`" if words else "pm2 runs apps"
        says = f"{what}, a configuration keepalive-guard does not evaluate (it is JavaScript)"
        return Server(NAME, "pm2", KeepAlive.unknown(Evidence(says, invocation.location)))
    script = _script(invocation)
    name = script[0] if script is not None else "start"
    if f"{program} {name}" in invocation.via or len(invocation.via) >= MAX_SCRIPT_DEPTH:
        says = f"`{program} {name}` runs itself through package.json scripts ({' → '.join(invocation.via)})"
        return Server(NAME, f"{program} {name}", KeepAlive.unknown(Evidence(says, invocation.location)))
    if invocation.build is None:
        where = "the image's package.json, which is not visible (map the image to its Dockerfile with --dockerfile)"
    elif _package(invocation) is None:
        where = "a package.json that the Dockerfile does not copy from the scanned files"
    else:
        where = "package.json, which has no such script"
    says = f"`{program} {name}` runs the script {name} of {where}"
    return Server(NAME, f"{program} {name}", KeepAlive.unknown(Evidence(says, invocation.location)))


def analyse(invocation: Invocation) -> Server:
    program, args = invocation.program, invocation.args
    if program == "next":
        return _next(invocation, args)
    if program in _SCRIPT_RUNNERS or program in _PM2:
        words = [arg for arg in args if not arg.startswith("-")]
        if program in _SCRIPT_RUNNERS and (words[:1] == ["next"] or words[:2] == ["exec", "next"]):
            return _next(invocation, args[args.index("next") + 1 :])  # `yarn next start`
        return _unexpanded(invocation)
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
