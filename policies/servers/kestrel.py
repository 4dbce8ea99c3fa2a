"""ASP.NET Core's Kestrel, run as `dotnet App.dll`, `dotnet run`, or an app host (`./App`).

Kestrel closes idle keep-alive connections after `KestrelServerLimits.KeepAliveTimeout`: 130 s since
.NET 6, 2 minutes before, so the .NET version (read from the mcr.microsoft.com/dotnet image tag) decides
the default. The limit is set in code (`ConfigureKestrel`). ASP.NET Core binds only the endpoint and
certificate parts of the "Kestrel" configuration section by default, not `Limits`, so
`Kestrel__Limits__KeepAliveTimeout` or `--Kestrel:Limits:KeepAliveTimeout` takes effect only when the app
binds the section to KestrelServerOptions itself: when one is given, the keep-alive is unknown. An app
host (`./App`) is taken for ASP.NET Core only with evidence: an ASPNETCORE_* variable or an
mcr.microsoft.com/dotnet/aspnet base image. Kestrel has no per-request timeout.
"""

from __future__ import annotations

import re

from policies.model import UNKNOWN_PART, Location, show
from policies.servers import units
from policies.servers.base import Evidence, Fact, Invocation, KeepAlive, Server

NAME = "kestrel"
# src/Servers/Kestrel/Core/src/KestrelServerLimits.cs: `_keepAliveTimeout = TimeSpan.FromSeconds(130)`
# ("Slightly more than SocketHttpHandler's old PooledConnectionIdleTimeout of 2 minutes"), from
# dotnet/aspnetcore#32636 (merged 2021-05, .NET 6); before it `TimeSpan.FromMinutes(2)`.
NEW_DEFAULT, OLD_DEFAULT, NEW_SINCE = 130, 120, 6
_NEW_SOURCE = (
    "https://github.com/dotnet/aspnetcore/blob/main/src/Servers/Kestrel/Core/src/KestrelServerLimits.cs"
)
_OLD_SOURCE = (
    "https://github.com/dotnet/aspnetcore/blob/v5.0.0/src/Servers/Kestrel/Core/src/KestrelServerLimits.cs"
)
# KestrelConfigurationLoader / ConfigurationReader read Endpoints, EndpointDefaults, Certificates only;
# "Read additional KestrelServerOptions from config" is still open (and AspNetCore.Docs#31633 removed the
# docs' claim that Limits load from configuration).
_NOT_BOUND = "https://github.com/dotnet/aspnetcore/issues/4765"
_SETTING = "kestrel:limits:keepalivetimeout"
_IN_CODE = (
    "set `options.Limits.KeepAliveTimeout = TimeSpan.FromSeconds({seconds})` in `ConfigureKestrel` and "
    'declare it with the docker label `keepalive-guard.keep-alive-seconds = "{seconds}"`'
)
_NOT_IN_CODE = "the app does not set Limits.KeepAliveTimeout in code"
# `dotnet [host-options] App.dll`: the host options that take a value (`dotnet --help`).
_HOST_VALUES = frozenset(
    {
        "--additionalprobingpath",
        "--additional-deps",
        "--depsfile",
        "--runtimeconfig",
        "--fx-version",
        "--roll-forward",
        "--roll-forward-on-no-candidate-fx",
    }
)
# Programs other families recognise later in the registry, and scripts: never an app host.
_NOT_APP_HOSTS = frozenset({"nginx", "httpd", "apache2", "apachectl", "caddy", "envoy", "haproxy", "traefik"})
_SCRIPT = re.compile(r"\.(sh|bash|py|js|mjs|cjs|rb|pl|jar|dll)$")
_DOTNET_IMAGE = re.compile(r"mcr\.microsoft\.com/dotnet/(?:core/|nightly/)?(aspnet|runtime|runtime-deps|sdk)")

RECOGNISED = (
    "`dotnet App.dll`, `dotnet run`; an app host (`./App`) with an `ASPNETCORE_*` variable or an "
    "`mcr.microsoft.com/dotnet/aspnet` image"
)

FACTS = (
    Fact(
        f"ASP.NET Core Kestrel, .NET ≥ {NEW_SINCE}",
        "`Limits.KeepAliveTimeout` in code (`Kestrel:Limits` configuration only if the app binds it)",
        f"{NEW_DEFAULT} s",
        _NEW_SOURCE,
        "TimeSpan",
    ),
    Fact(
        f"ASP.NET Core Kestrel, .NET < {NEW_SINCE}",
        "`Limits.KeepAliveTimeout` in code",
        f"{OLD_DEFAULT} s",
        _OLD_SOURCE,
        "TimeSpan",
    ),
)


def dotnet_image(image: str | None) -> tuple[str, str | None] | None:
    """(kind, version) of an mcr.microsoft.com/dotnet image: ("aspnet", "8.0") for
    mcr.microsoft.com/dotnet/aspnet:8.0-alpine, ("sdk", None) for an unversioned tag; None for other images."""
    if not image or UNKNOWN_PART in image:
        return None
    reference = image.split("@", 1)[0]
    name, _, tag = reference.rpartition(":") if ":" in reference.rsplit("/", 1)[-1] else (reference, "", "")
    match = re.fullmatch(_DOTNET_IMAGE, name)
    if not match:
        return None
    version = re.match(r"\d+\.\d+", tag)
    return match.group(1), version.group() if version else None


def recognises(invocation: Invocation) -> bool:
    if invocation.program == "dotnet":
        return _target(invocation.args) is not None
    return _app_host(invocation) != ""


def _target(args: tuple[str, ...]) -> str | None:
    """What `dotnet` runs: "App.dll", "run", or None for an SDK command that serves nothing."""
    index = 0
    while index < len(args) and args[index].startswith("-"):
        index += 2 if args[index] in _HOST_VALUES else 1
    if index < len(args) and args[index] == "exec":
        return _target(args[index + 1 :])
    if index < len(args) and (args[index].endswith(".dll") or args[index] == "run"):
        return args[index]
    return None


def _app_host(invocation: Invocation) -> str:
    """Why a program run by its path (`./App`) is an ASP.NET Core app host, or "" when nothing says so."""
    path = invocation.argv[0] if invocation.argv else ""
    if "/" not in path or UNKNOWN_PART in path:
        return ""
    if invocation.program in _NOT_APP_HOSTS or _SCRIPT.search(invocation.program):
        return ""
    variable = next((name for name in invocation.env if name.upper().startswith("ASPNETCORE_")), None)
    if variable is not None:
        return f"{variable} is set"
    image = dotnet_image(invocation.base_image.value)
    if image is not None and image[0] == "aspnet":
        return f"the image is `{show(invocation.base_image.value or '')}`"
    return ""


def analyse(invocation: Invocation) -> Server:
    if invocation.program == "dotnet":
        detail = f"dotnet {_target(invocation.args)}"
    else:
        detail = f"{show(invocation.argv[0])}, an ASP.NET Core app host: {_app_host(invocation)}"
    configured = _configured(invocation)
    if configured is not None:
        written, text, where = configured
        seconds = units.timespan(text)
        default = _default(invocation).seconds
        outcome = (
            f"{seconds:g} s if it does, Kestrel's default {default:g} s if not"
            if seconds is not None and default is not None
            else "it is not known what Kestrel makes of it"
        )
        says = (
            f"{written} takes effect only if the app binds the Kestrel configuration section to "
            f"KestrelServerOptions, which ASP.NET Core does not do by default: {outcome}"
        )
        remedy = (
            "make sure the value takes effect, by binding the section "
            '(`builder.Services.Configure<KestrelServerOptions>(builder.Configuration.GetSection("Kestrel"))`) or '
            "by setting `options.Limits.KeepAliveTimeout = TimeSpan.FromSeconds({seconds})` in `ConfigureKestrel`, "
            'and declare it with the docker label `keepalive-guard.keep-alive-seconds = "{seconds}"`'
        )
        return Server(
            "Kestrel", detail, KeepAlive.unknown(Evidence(says, where, _NOT_BOUND)), None, remedy, where
        )
    return Server("Kestrel", detail, _default(invocation), None, _IN_CODE, invocation.location)


def _configured(invocation: Invocation) -> tuple[str, str, Location] | None:
    """Kestrel:Limits:KeepAliveTimeout as an argument (`--Kestrel:Limits:KeepAliveTimeout=00:02:10`,
    `/key value`, `key=value`) or an environment variable (`Kestrel__Limits__KeepAliveTimeout`, also
    with the ASPNETCORE_ or DOTNET_ prefix); the command line first, as configuration layers it last."""
    args = invocation.args
    for index in range(len(args) - 1, -1, -1):
        key, equals, value = args[index].lstrip("-/").partition("=")
        if key.lower() != _SETTING:
            continue
        if not equals:
            if index + 1 >= len(args):
                continue
            value = args[index + 1]
        return (
            f"`{show(args[index])}{'' if equals else ' ' + show(value)}` in the command",
            value,
            invocation.where(index),
        )
    for name, setting in invocation.env.items():
        key = re.sub(r"^(ASPNETCORE_|DOTNET_)", "", name, flags=re.I).replace("__", ":").lower()
        if key == _SETTING:
            return f"{name}={show(setting.value or '<?>')}", setting.value or "", setting.location
    return None


def _default(invocation: Invocation) -> KeepAlive:
    image = invocation.base_image
    found = dotnet_image(image.value)
    version = found[1] if found is not None else None
    if version is None:
        shown = f"`{show(image.value)}`" if image.value else "an unknown image"
        says = (
            f"Kestrel's default KeepAliveTimeout is {NEW_DEFAULT} s from .NET {NEW_SINCE} and {OLD_DEFAULT} s "
            f"before, and the image {shown} does not say which .NET it runs (a versioned mcr.microsoft.com/dotnet "
            f"tag would): assuming the older {OLD_DEFAULT} s, and that {_NOT_IN_CODE}"
        )
        return KeepAlive.after(OLD_DEFAULT, Evidence(says, image.location, _OLD_SOURCE))
    newer = int(version.split(".")[0]) >= NEW_SINCE
    seconds, source = (NEW_DEFAULT, _NEW_SOURCE) if newer else (OLD_DEFAULT, _OLD_SOURCE)
    says = (
        f"Kestrel on .NET {version} (image `{show(image.value or '')}`): default KeepAliveTimeout {seconds} s, "
        f"assuming {_NOT_IN_CODE}"
    )
    return KeepAlive.after(seconds, Evidence(says, image.location, source))
