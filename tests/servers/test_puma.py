"""Puma and `rails server`: persistent_timeout from config/puma.rb, the Puma version from Gemfile.lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.loaders import LoadOptions
from policies.model import Location
from policies.rules import Options
from policies.scan import Result, scan
from policies.servers import puma
from policies.servers.base import Mode, Server
from tests.helpers import built_invocation, rules_of, scan_tree, server_of, service_tf, write_tree

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1"  # service_tf's image


def lock(version: str) -> str:
    return f"GEM\n  remote: https://rubygems.org/\n  specs:\n    nio4r (2.7.4)\n    puma ({version})\n      nio4r (~> 2.0)\n"


def analysed(
    tmp_path: Path,
    argv: tuple[str, ...],
    files: dict[str, str],
    environment: dict[str, str] | None = None,
) -> Server:
    """Puma's conclusion for `argv` run in an image whose Dockerfile copies `files` to /app."""
    invocation = built_invocation(tmp_path, argv, files, environment, base="ruby:3.3")
    assert puma.recognises(invocation)
    return puma.analyse(invocation)


@pytest.mark.parametrize(
    "command",
    [
        ["puma"],
        ["bundle", "exec", "puma", "-t", "5:5", "-p", "3000"],
        ["rails", "server"],
        ["rails", "s"],
        ["bin/rails", "server", "-b", "0.0.0.0"],
        ["./bin/rails", "s", "-p", "3000"],
        ["bundle", "exec", "rails", "server", "-u", "puma"],
        ["sh", "-c", "bundle exec rails db:prepare && exec bundle exec rails server -b 0.0.0.0"],
    ],
)
def test_recognised_forms(tmp_path: Path, command: list[str]) -> None:
    server = server_of(tmp_path, command=command)
    assert server.name == "puma"
    assert server.keep_alive.seconds == 20


@pytest.mark.parametrize(
    "command", [["rails", "server", "-u", "thin"], ["rails", "s", "webrick"], ["rails", "console"]]
)
def test_rails_without_puma_is_not_puma(tmp_path: Path, command: list[str]) -> None:
    assert server_of(tmp_path, command=command).name == "unknown"


def test_unknown_version_assumes_the_older_default_and_says_so(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["bundle", "exec", "rails", "server"])
    assert server.title == "puma (rails server)"
    assert server.keep_alive.mode is Mode.IDLE_TIMEOUT
    assert server.keep_alive.evidence.says == (
        "no persistent_timeout set: Puma's default is 20 s before 7.0 and 65 s from 7.0; the Puma version is not "
        "visible (a Gemfile.lock that a scanned Dockerfile copies makes it certain), so keepalive-guard assumes the "
        "older default (assuming no config/puma/development.rb or config/puma.rb in the image's working directory, "
        "which Puma would read)"
    )
    assert server.remedy == "add `persistent_timeout {seconds}` to config/puma.rb"
    assert server.request_timeout is None  # worker_timeout is a heartbeat, not a request bound


def test_the_environment_picks_the_config_file_named_in_the_assumption(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["puma"], environment={"RACK_ENV": "production"})
    assert "config/puma/production.rb or config/puma.rb" in server.keep_alive.evidence.says


def test_an_explicit_config_file_that_is_not_visible_is_unknown(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["bundle", "exec", "puma", "-C", "config/puma.rb"])
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says == (
        "persistent_timeout may be set in the config file `config/puma.rb`, which cannot be read (the image's "
        "build is not known)"
    )
    assert "keepalive-guard.keep-alive-seconds" in server.remedy


def test_env_var_without_a_visible_version_is_unknown(tmp_path: Path) -> None:
    server = server_of(tmp_path, command=["puma"], environment={"PUMA_PERSISTENT_TIMEOUT": "75"})
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert server.keep_alive.evidence.says.startswith(
        "PUMA_PERSISTENT_TIMEOUT=75 is read by Puma 7.0.3 and later only (older Pumas keep their 20 s default)"
    )


@pytest.mark.parametrize(
    ("version", "seconds"), [("6.4.2", 20), ("5.6.9", 20), ("7.0.0", 65), ("7.1.0-java", 65)]
)
def test_gemfile_lock_tells_the_default(tmp_path: Path, version: str, seconds: int) -> None:
    server = analysed(tmp_path, ("puma",), {"Gemfile.lock": lock(version)})
    assert server.keep_alive.seconds == seconds
    assert server.keep_alive.evidence.says.startswith(
        f"no persistent_timeout set: the default of Puma {version[:5]}"
    )
    assert server.keep_alive.evidence.location == Location(str(tmp_path / "Gemfile.lock"), 5)


def test_the_copied_config_file_sets_persistent_timeout(tmp_path: Path) -> None:
    config = (
        'threads 3, 3\n# persistent_timeout 5\nport ENV.fetch("PORT", 3000)\npersistent_timeout 75 # > ALB\n'
    )
    server = analysed(tmp_path, ("puma", "-C", "config/puma.rb"), {"config/puma.rb": config})
    assert server.keep_alive.seconds == 75
    assert server.keep_alive.evidence.says == "`persistent_timeout 75` in /app/config/puma.rb"
    assert server.keep_alive.evidence.location == Location(str(tmp_path / "config/puma.rb"), 4)
    assert (
        server.remedy
        == "change `persistent_timeout 75` to `persistent_timeout {seconds}` in /app/config/puma.rb"
    )


@pytest.mark.parametrize(
    ("line", "environment", "seconds"),
    [
        ("persistent_timeout(70)", {}, 70),
        ('persistent_timeout ENV.fetch("PUMA_PERSISTENT_TIMEOUT", 75)', {}, 75),
        (
            'persistent_timeout ENV.fetch("PUMA_PERSISTENT_TIMEOUT", 75)',
            {"PUMA_PERSISTENT_TIMEOUT": "95"},
            95,
        ),
        ('persistent_timeout(ENV.fetch("PUMA_PERSISTENT_TIMEOUT") { 95 }.to_i)', {}, 95),
        ("persistent_timeout Integer(ENV['KEEP_ALIVE'] || 65)", {}, 65),
        ("persistent_timeout Integer(ENV['KEEP_ALIVE'] || 65)", {"KEEP_ALIVE": "80"}, 80),
        ('persistent_timeout ENV.fetch("KEEP_ALIVE", "61").to_i', {}, 61),
        ("persistent_timeout 90.0", {}, 90),  # Integer(90.0)
        ('persistent_timeout "75"', {}, 75),  # Integer("75")
        (
            'persistent_timeout ENV.fetch("KEEP_ALIVE", 65)',
            {"KEEP_ALIVE": "90.0"},
            None,
        ),  # Integer("90.0") raises
        ("persistent_timeout ENV['KEEP_ALIVE'].to_i", {"KEEP_ALIVE": "70s"}, 70),  # String#to_i
        ("persistent_timeout some_method", {}, None),
        ('persistent_timeout ENV.fetch("KEEP_ALIVE")', {}, None),  # KeyError at boot
        ('persistent_timeout ENV.fetch("KEEP_ALIVE", 65)', {"KEEP_ALIVE": "65s"}, None),  # Integer() raises
        ("persistent_timeout 75 if ENV['SLOW_CLIENTS']", {}, None),
        ("if production?\n  persistent_timeout 75\nend", {}, None),
    ],
)
def test_config_file_values(
    tmp_path: Path, line: str, environment: dict[str, str], seconds: int | None
) -> None:
    server = analysed(tmp_path, ("rails", "server"), {"config/puma.rb": line + "\n"}, environment)
    assert server.keep_alive.seconds == seconds
    assert (server.keep_alive.mode is Mode.UNKNOWN) is (seconds is None)


def test_environment_specific_config_file_comes_first(tmp_path: Path) -> None:
    files = {
        "config/puma.rb": "persistent_timeout 30\n",
        "config/puma/production.rb": "persistent_timeout 70\n",
    }
    assert analysed(tmp_path, ("puma",), files, {"RAILS_ENV": "production"}).keep_alive.seconds == 70
    assert (
        analysed(tmp_path, ("puma", "-e", "staging"), files, {"RAILS_ENV": "production"}).keep_alive.seconds
        == 30
    )


def test_later_config_files_win(tmp_path: Path) -> None:
    files = {"a.rb": "persistent_timeout 30\n", "b.rb": "persistent_timeout 70\n"}
    assert analysed(tmp_path, ("puma", "-C", "a.rb", "--config=b.rb"), files).keep_alive.seconds == 70


def test_no_config_skips_config_puma_rb(tmp_path: Path) -> None:
    files = {"config/puma.rb": "persistent_timeout 75\n", "Gemfile.lock": lock("6.6.0")}
    assert analysed(tmp_path, ("puma", "--no-config"), files).keep_alive.seconds == 20


def test_explicit_config_file_not_copied_is_unknown(tmp_path: Path) -> None:
    server = analysed(tmp_path, ("puma", "-C", "config/production.rb"), {"Gemfile.lock": lock("7.1.0")})
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "the scanned Dockerfile does not copy it" in server.keep_alive.evidence.says


@pytest.mark.parametrize(
    "setting", ["enable_keep_alives false", "enable_keep_alives(false)", "queue_requests false"]
)
def test_keep_alives_switched_off(tmp_path: Path, setting: str) -> None:
    server = analysed(tmp_path, ("puma",), {"config/puma.rb": f"persistent_timeout 5\n{setting}\n"})
    assert server.keep_alive.mode is Mode.NO_KEEP_ALIVE
    assert server.keep_alive.evidence.says.endswith("Puma answers every request with `Connection: close`")


def test_enable_keep_alives_true_changes_nothing(tmp_path: Path) -> None:
    server = analysed(tmp_path, ("puma",), {"config/puma.rb": "enable_keep_alives\npersistent_timeout 66\n"})
    assert server.keep_alive.seconds == 66


@pytest.mark.parametrize(
    ("version", "mode", "seconds"),
    [
        ("7.1.0", Mode.IDLE_TIMEOUT, 90),
        ("7.0.3", Mode.IDLE_TIMEOUT, 90),
        ("7.0.1", Mode.UNKNOWN, None),  # not converted to a number before 7.0.3 (puma/puma#3749)
        ("6.4.2", Mode.IDLE_TIMEOUT, 20),  # not read at all
    ],
)
def test_env_var_depends_on_the_version(
    tmp_path: Path, version: str, mode: Mode, seconds: int | None
) -> None:
    files = {"Gemfile.lock": lock(version)}
    server = analysed(tmp_path, ("puma",), files, {"PUMA_PERSISTENT_TIMEOUT": "90"})
    assert server.keep_alive.mode is mode
    assert server.keep_alive.seconds == seconds


def test_an_empty_env_var_is_not_read(tmp_path: Path) -> None:
    server = analysed(tmp_path, ("puma",), {"Gemfile.lock": lock("7.1.0")}, {"PUMA_PERSISTENT_TIMEOUT": ""})
    assert server.keep_alive.seconds == 65


def test_env_var_from_puma_7_and_its_remedy(tmp_path: Path) -> None:
    server = analysed(tmp_path, ("puma",), {"Gemfile.lock": lock("7.1.0")}, {"PUMA_PERSISTENT_TIMEOUT": "50"})
    assert server.keep_alive.evidence.says.startswith("PUMA_PERSISTENT_TIMEOUT=50 (Puma 7.1.0)")
    assert server.remedy == "set PUMA_PERSISTENT_TIMEOUT={seconds}"
    assert server.remedy_location == Location("main.tf", 9)


def test_old_puma_ignores_the_env_var_and_says_so(tmp_path: Path) -> None:
    server = analysed(tmp_path, ("puma",), {"Gemfile.lock": lock("6.4.2")}, {"PUMA_PERSISTENT_TIMEOUT": "90"})
    assert "PUMA_PERSISTENT_TIMEOUT=90 is read from Puma 7.0.3 on only" in server.keep_alive.evidence.says


def test_the_config_file_wins_over_the_env_var(tmp_path: Path) -> None:
    files = {"Gemfile.lock": lock("7.1.0"), "config/puma.rb": "persistent_timeout 75\n"}
    assert analysed(tmp_path, ("puma",), files, {"PUMA_PERSISTENT_TIMEOUT": "30"}).keep_alive.seconds == 75


def test_rails_server_with_a_lock_without_puma_is_unknown(tmp_path: Path) -> None:
    files = {"Gemfile.lock": "GEM\n  specs:\n    falcon (0.48.0)\n"}
    server = analysed(tmp_path, ("rails", "server"), files)
    assert server.keep_alive.mode is Mode.UNKNOWN
    assert "Gemfile.lock lists no puma" in server.keep_alive.evidence.says


def test_terraform_default_fires_and_a_declared_keep_alive_does_not(tmp_path: Path) -> None:
    unsafe = scan_tree(
        tmp_path / "unsafe", {"main.tf": service_tf(command=["bundle", "exec", "rails", "server"])}
    )
    assert rules_of(unsafe) == ["KA001"]
    labels = {"keepalive-guard.keep-alive-seconds": "75"}
    safe = scan_tree(
        tmp_path / "safe", {"main.tf": service_tf(command=["bundle", "exec", "puma"], labels=labels)}
    )
    assert rules_of(safe) == []


def scan_with_dockerfile(root: Path, main_tf: str, app: dict[str, str]) -> Result:
    """The real pipeline, with the task's image built by app/Dockerfile (--dockerfile IMAGE=PATH)."""
    write_tree(root, {"main.tf": main_tf, **{f"app/{name}": text for name, text in app.items()}})
    return scan([root], Options(), LoadOptions(dockerfiles=((IMAGE, root / "app/Dockerfile"),)))


RAILS_DOCKERFILE = """FROM ruby:3.3-slim
WORKDIR /rails
ENV RAILS_ENV=production
COPY Gemfile Gemfile.lock ./
COPY . .
CMD ["./bin/rails", "server"]
"""


@pytest.mark.parametrize(
    ("version", "environment", "rules"),
    [
        ("6.4.2", {}, ["KA001"]),  # 20 s
        ("6.4.2", {"PUMA_PERSISTENT_TIMEOUT": "75"}, ["KA001"]),  # not read before 7.0.3
        ("7.1.0", {}, []),  # 65 s
        ("7.1.0", {"PUMA_PERSISTENT_TIMEOUT": "75"}, []),
        ("7.1.0", {"PUMA_PERSISTENT_TIMEOUT": "30"}, ["KA001"]),
    ],
)
def test_terraform_with_the_dockerfile_knows_the_version(
    tmp_path: Path, version: str, environment: dict[str, str], rules: list[str]
) -> None:
    app = {"Dockerfile": RAILS_DOCKERFILE, "Gemfile.lock": lock(version)}
    result = scan_with_dockerfile(tmp_path, service_tf(environment=environment), app)
    assert rules_of(result) == rules


def test_terraform_with_the_dockerfile_reads_config_puma_rb(tmp_path: Path) -> None:
    app = {
        "Dockerfile": RAILS_DOCKERFILE,
        "Gemfile.lock": lock("6.4.2"),
        "config/puma.rb": 'port ENV.fetch("PORT", 3000)\npersistent_timeout 75\n',
    }
    result = scan_with_dockerfile(tmp_path, service_tf(), app)
    assert rules_of(result) == []
    server = result.targets[0].server
    assert server is not None and server.title == "puma (rails server, Puma 6.4.2)"
    assert server.keep_alive.evidence.says == "`persistent_timeout 75` in /rails/config/puma.rb"
