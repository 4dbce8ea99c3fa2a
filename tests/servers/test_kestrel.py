"""ASP.NET Core Kestrel: the .NET version decides the default; Kestrel:Limits is not bound by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.servers.base import Mode
from policies.servers.kestrel import dotnet_image
from tests.helpers import DEFAULT_IMAGE, rules_of, scan_tree, server_of, service_tf

ASPNET8 = "mcr.microsoft.com/dotnet/aspnet:8.0"


@pytest.mark.parametrize(
    ("image", "found"),
    [
        ("mcr.microsoft.com/dotnet/aspnet:8.0", ("aspnet", "8.0")),
        ("mcr.microsoft.com/dotnet/aspnet:8.0.11-bookworm-slim", ("aspnet", "8.0")),
        ("mcr.microsoft.com/dotnet/aspnet:9.0-noble-chiseled", ("aspnet", "9.0")),
        ("mcr.microsoft.com/dotnet/runtime-deps:8.0-alpine", ("runtime-deps", "8.0")),
        ("mcr.microsoft.com/dotnet/sdk:10.0", ("sdk", "10.0")),
        ("mcr.microsoft.com/dotnet/core/aspnet:3.1", ("aspnet", "3.1")),
        ("mcr.microsoft.com/dotnet/aspnet:8.0@sha256:abc", ("aspnet", "8.0")),
        ("mcr.microsoft.com/dotnet/aspnet:latest", ("aspnet", None)),
        ("mcr.microsoft.com/dotnet/aspnet", ("aspnet", None)),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:8.0", None),
    ],
)
def test_dotnet_image(image: str, found: tuple[str, str | None] | None) -> None:
    assert dotnet_image(image) == found


@pytest.mark.parametrize(
    ("command", "image", "seconds"),
    [
        (["dotnet", "Shop.Api.dll"], ASPNET8, 130),
        (
            ["dotnet", "/app/Shop.Api.dll", "--urls", "http://+:8000"],
            "mcr.microsoft.com/dotnet/aspnet:6.0",
            130,
        ),
        (["dotnet", "--roll-forward", "Major", "App.dll"], "mcr.microsoft.com/dotnet/aspnet:9.0-alpine", 130),
        (["dotnet", "exec", "App.dll"], ASPNET8, 130),
        (["dotnet", "run", "--", "--urls", "http://+:8000"], "mcr.microsoft.com/dotnet/sdk:8.0", 130),
        # 2 minutes before .NET 6 (dotnet/aspnetcore#32636)
        (["dotnet", "App.dll"], "mcr.microsoft.com/dotnet/aspnet:5.0", 120),
        (["dotnet", "App.dll"], "mcr.microsoft.com/dotnet/core/aspnet:3.1", 120),
        (["sh", "-c", "exec dotnet App.dll"], ASPNET8, 130),
    ],
)
def test_default_by_dotnet_version(tmp_path: Path, command: list[str], image: str, seconds: float) -> None:
    server = server_of(tmp_path, command=command, image=image)
    assert server.name == "Kestrel"
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.seconds == seconds
    assert server.request_timeout is None


def test_default_says_the_version_and_the_assumption(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["dotnet", "Shop.Api.dll"], image=ASPNET8)
    assert server.title == "Kestrel (dotnet Shop.Api.dll)"
    assert server.keep_alive.evidence.says == (
        "Kestrel on .NET 8.0 (image `mcr.microsoft.com/dotnet/aspnet:8.0`): default KeepAliveTimeout 130 s, "
        "assuming the app does not set Limits.KeepAliveTimeout in code"
    )
    assert server.keep_alive.evidence.source.endswith("src/Servers/Kestrel/Core/src/KestrelServerLimits.cs")
    assert "TimeSpan.FromSeconds({seconds})" in server.remedy


def test_unknown_version_assumes_the_older_default(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["dotnet", "App.dll"])
    assert server.keep_alive.seconds == 120
    assert "assuming the older 120 s" in server.keep_alive.evidence.says
    assert "a versioned mcr.microsoft.com/dotnet tag would" in server.keep_alive.evidence.says


@pytest.mark.parametrize(
    ("command", "environment", "says"),
    [
        (["dotnet", "App.dll"], {"Kestrel__Limits__KeepAliveTimeout": "00:00:30"}, "30 s if it does"),
        (
            ["dotnet", "App.dll"],
            {"ASPNETCORE_Kestrel__Limits__KeepAliveTimeout": "00:05:00"},
            "300 s if it does",
        ),
        (["dotnet", "App.dll"], {"DOTNET_KESTREL__LIMITS__KEEPALIVETIMEOUT": "00:01:30"}, "90 s if it does"),
        (["dotnet", "App.dll", "--Kestrel:Limits:KeepAliveTimeout=00:02:30"], None, "150 s if it does"),
        (["dotnet", "App.dll", "/Kestrel:Limits:KeepAliveTimeout", "00:00:45"], None, "45 s if it does"),
        (
            ["dotnet", "App.dll", "Kestrel:Limits:KeepAliveTimeout=soon"],
            None,
            "not known what Kestrel makes of it",
        ),
    ],
)
def test_kestrel_limits_configuration_is_bound_only_by_the_app(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, says: str
) -> None:
    server = server_of(tmp_path, command=command, environment=environment, image=ASPNET8)
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "which ASP.NET Core does not do by default" in server.keep_alive.evidence.says
    assert says in server.keep_alive.evidence.says
    assert server.keep_alive.evidence.source == "https://github.com/dotnet/aspnetcore/issues/4765"


def test_bound_or_not_says_both_outcomes(tmp_path: Path) -> None:
    environment = {"Kestrel__Limits__KeepAliveTimeout": "00:00:30"}
    server = server_of(tmp_path, command=["dotnet", "App.dll"], environment=environment, image=ASPNET8)
    assert server.keep_alive.evidence.says == (
        "Kestrel__Limits__KeepAliveTimeout=00:00:30 takes effect only if the app binds the Kestrel configuration "
        "section to KestrelServerOptions, which ASP.NET Core does not do by default: 30 s if it does, Kestrel's "
        "default 130 s if not"
    )


@pytest.mark.parametrize(
    ("command", "environment", "image"),
    [
        (["./Shop.Api"], {"ASPNETCORE_URLS": "http://+:8000"}, "mcr.microsoft.com/dotnet/runtime-deps:8.0"),
        (["/app/Shop.Api"], {"ASPNETCORE_HTTP_PORTS": "8000"}, None),
        (["/app/api"], None, "mcr.microsoft.com/dotnet/aspnet:8.0-noble-chiseled"),
    ],
)
def test_app_host_with_evidence(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, image: str | None
) -> None:
    server = server_of(tmp_path, command=command, environment=environment, image=image or DEFAULT_IMAGE)
    assert server.name == "Kestrel"
    assert "an ASP.NET Core app host" in server.detail


@pytest.mark.parametrize(
    ("command", "environment", "image"),
    [
        (["./server"], None, None),  # any binary
        (["./server"], None, "mcr.microsoft.com/dotnet/runtime-deps:8.0"),  # any self-contained .NET app
        (["./entrypoint.sh"], {"ASPNETCORE_URLS": "http://+:8000"}, None),
        (["dotnet", "ef", "database", "update"], None, ASPNET8),
    ],
)
def test_not_kestrel_without_evidence(
    tmp_path: Path, command: list[str], environment: dict[str, str] | None, image: str | None
) -> None:
    server = server_of(tmp_path, command=command, environment=environment, image=image or DEFAULT_IMAGE)
    assert server.name != "Kestrel"


@pytest.mark.parametrize(("idle_timeout", "fires"), [(None, False), (120, False), (130, True), (300, True)])
def test_scan(tmp_path: Path, idle_timeout: int | None, fires: bool) -> None:
    tf = service_tf(command=["dotnet", "Shop.Api.dll"], image=ASPNET8, idle_timeout=idle_timeout)
    result = scan_tree(tmp_path, {"main.tf": tf})
    assert ("KA001" in rules_of(result)) is fires
