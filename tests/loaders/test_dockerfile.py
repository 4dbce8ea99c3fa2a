"""The Dockerfile loader: what the final stage runs, with which environment, and which files it holds."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from policies.loaders.dockerfile import load_dockerfile
from policies.model import UNKNOWN_PART, ImageBuild, InputError
from tests.helpers import write_tree


def build_of(tmp_path: Path, dockerfile: str, files: Mapping[str, str | bytes] | None = None) -> ImageBuild:
    write_tree(tmp_path, {"Dockerfile": dockerfile, **(files or {})})
    found = load_dockerfile(tmp_path / "Dockerfile", ("app",))
    assert isinstance(found, ImageBuild), found
    return found


def test_exec_and_shell_forms(tmp_path: Path) -> None:
    build = build_of(
        tmp_path,
        'FROM python:3.12\nENTRYPOINT ["tini", "--"]\nCMD gunicorn -k gevent app:app\n',
    )
    assert build.entry_point is not None and build.entry_point.value == ("tini", "--")
    assert build.command is not None and build.command.value == (
        "/bin/sh",
        "-c",
        "gunicorn -k gevent app:app",
    )
    assert build.command.location.line == 3
    assert build.base.value == "python:3.12"


def test_shell_instruction_changes_the_shell_form(tmp_path: Path) -> None:
    build = build_of(tmp_path, 'FROM debian\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nCMD exec run\n')
    assert build.command is not None and build.command.value == (
        "/bin/bash",
        "-o",
        "pipefail",
        "-c",
        "exec run",
    )


def test_invalid_json_is_the_shell_form(tmp_path: Path) -> None:
    # Docker runs a malformed exec form as a shell command
    build = build_of(tmp_path, "FROM debian\nCMD ['uvicorn', 'app:app']\n")
    assert build.command is not None and build.command.value == ("/bin/sh", "-c", "['uvicorn', 'app:app']")


def test_continuations_comments_and_the_escape_directive(tmp_path: Path) -> None:
    build = build_of(
        tmp_path,
        "# escape=`\nFROM node:20\nENV A=1 `\n    # a comment inside the instruction\n    B=2\nCMD node `\n  server.js\n",
    )
    assert dict(build.environment)["B"].value == "2"
    assert build.command is not None and build.command.value == ("/bin/sh", "-c", "node   server.js")
    assert build.command.location.line == 6


def test_heredoc_bodies_are_not_instructions(tmp_path: Path) -> None:
    build = build_of(
        tmp_path,
        "FROM debian\nRUN <<EOF\nCMD not-an-instruction\nEOF\nCMD real\n",
    )
    assert build.command is not None and build.command.value == ("/bin/sh", "-c", "real")


def test_arg_and_env_substitution(tmp_path: Path) -> None:
    build = build_of(
        tmp_path,
        "ARG VERSION=3.12\nARG NODE\nFROM python:${VERSION}-slim\nARG VERSION\nARG PORT=8000\n"
        'ENV BIND="0.0.0.0:${PORT}" OPTS=${MISSING:-"--threads 4"} LEGACY_ONLY=x\n'
        "ENV LEGACY value with spaces\nENV FROM_GLOBAL=$VERSION SET=${PORT:+yes} NOT=${MISSING:+no}\n",
    )
    assert build.base.value == "python:3.12-slim"
    environment = {name: setting.value for name, setting in build.environment}
    assert environment["BIND"] == "0.0.0.0:8000"
    assert environment["OPTS"] == "--threads 4"
    assert environment["LEGACY"] == "value with spaces"
    assert environment["FROM_GLOBAL"] == "3.12"
    assert environment["SET"] == "yes" and environment["NOT"] == ""


def test_an_arg_without_a_value_is_unknown(tmp_path: Path) -> None:
    build = build_of(tmp_path, "FROM debian\nARG KEEPALIVE\nENV KEEPALIVE=$KEEPALIVE\n")
    assert dict(build.environment)["KEEPALIVE"].value == UNKNOWN_PART


def test_the_final_stage_inherits_from_a_named_stage(tmp_path: Path) -> None:
    build = build_of(
        tmp_path,
        'FROM python:3.12 AS base\nENV A=1\nWORKDIR /srv\nCMD ["gunicorn", "app:app"]\n'
        "FROM base AS web\nENV B=2\n",
    )
    assert build.base.value == "python:3.12"
    assert {name for name, _ in build.environment} == {"A", "B"}
    assert build.workdir == "/srv"
    assert build.command is not None and build.command.value == ("gunicorn", "app:app")


def test_entrypoint_resets_an_inherited_cmd(tmp_path: Path) -> None:
    # Dockerfile reference: "If CMD is defined from the base image, setting ENTRYPOINT will reset CMD"
    build = build_of(tmp_path, 'FROM debian AS base\nCMD ["a"]\nFROM base\nENTRYPOINT ["b"]\n')
    assert build.command is None and build.entry_point is not None
    build = build_of(tmp_path, 'FROM debian\nCMD ["a"]\nENTRYPOINT ["b"]\n')
    assert build.command is not None and build.command.value == ("a",)


def test_only_the_final_stage_counts(tmp_path: Path) -> None:
    build = build_of(tmp_path, 'FROM golang:1.23 AS build\nCMD ["go"]\nFROM gcr.io/distroless/static\n')
    assert build.base.value == "gcr.io/distroless/static"
    assert build.command is None and build.inherits_command


def test_copies_bring_files_into_the_image(tmp_path: Path) -> None:
    files = {
        "gunicorn.conf.py": "keepalive = 75\n",
        "config/puma.rb": "persistent_timeout 70\n",
        "nginx/default.conf": "server {}\n",
        "src/app.py": "",
        "package.json": "{}",
    }
    build = build_of(
        tmp_path,
        "FROM python:3.12\nWORKDIR /app\nCOPY gunicorn.conf.py .\nCOPY config/ ./config\n"
        "COPY nginx/default.conf /etc/nginx/conf.d/\nCOPY --chown=app:app src /app/src\nCOPY *.json /meta/\n",
        files,
    )
    conf = build.file("gunicorn.conf.py")
    assert conf is not None and conf.text == "keepalive = 75\n" and conf.path == "/app/gunicorn.conf.py"
    puma = build.file("config/puma.rb")
    assert puma is not None and puma.text == "persistent_timeout 70\n"
    assert build.file("/etc/nginx/conf.d/default.conf") is not None
    assert build.file("/meta/package.json") is not None
    assert build.file("src/app.py") is not None
    assert build.file("requirements.txt") is None


def test_copy_from_a_stage_follows_that_stage(tmp_path: Path) -> None:
    build = build_of(
        tmp_path,
        "FROM node:22 AS build\nWORKDIR /app\nCOPY . .\nRUN npm run build\n"
        "FROM node:22-slim\nWORKDIR /srv\nCOPY --from=build /app/package.json ./\nCOPY --from=0 /app/conf /srv/conf\n",
        {"package.json": '{"name": "web"}', "conf/app.json": "{}"},
    )
    found = build.file("package.json")
    assert found is not None and found.text == '{"name": "web"}'
    assert build.file("conf/app.json") is not None
    assert build.builders == ("node:22",)


def test_copy_from_an_image_records_the_builder(tmp_path: Path) -> None:
    build = build_of(tmp_path, "FROM scratch\nCOPY --from=golang:1.23 /usr/local/go /go\n")
    assert build.builders == ("golang:1.23",)


def test_a_later_copy_wins(tmp_path: Path) -> None:
    build = build_of(
        tmp_path,
        "FROM nginx\nCOPY a.conf /etc/nginx/nginx.conf\nCOPY b.conf /etc/nginx/nginx.conf\n",
        {"a.conf": "a", "b.conf": "b"},
    )
    found = build.file("/etc/nginx/nginx.conf")
    assert found is not None and found.text == "b"


def test_files_outside_the_context_are_never_read(tmp_path: Path) -> None:
    (tmp_path / "outside.conf").write_text("secret")
    context = tmp_path / "ctx"
    write_tree(context, {"Dockerfile": "FROM nginx\nCOPY . /etc/nginx/\nCOPY ../outside.conf /x.conf\n"})
    (context / "link.conf").symlink_to(tmp_path / "outside.conf")
    found = load_dockerfile(context / "Dockerfile", ("app",))
    assert isinstance(found, ImageBuild)
    assert found.file("/etc/nginx/link.conf") is None
    assert found.file("/x.conf") is None


def test_labels_are_kept(tmp_path: Path) -> None:
    build = build_of(tmp_path, 'FROM python\nLABEL keepalive-guard.keep-alive-seconds="75" other=x\n')
    assert dict(build.labels)["keepalive-guard.keep-alive-seconds"].value == "75"


def test_a_directory_stands_for_its_dockerfile(tmp_path: Path) -> None:
    write_tree(tmp_path, {"Dockerfile": "FROM python\nCMD run\n"})
    assert isinstance(load_dockerfile(tmp_path, ("app",)), ImageBuild)


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        ("# nothing\n", "no FROM instruction: not a Dockerfile", None),
        ("CMD run\nFROM python\n", "CMD before the first FROM (only ARG may come before it)", 1),
        (b"\xff\xfe\x00binary", "binary file, not text", None),
        (b"FROM python\xff\n", "not UTF-8 text (byte 0xff)", 1),
        ("FROM python\n!!! nonsense\n", "not a Dockerfile instruction: !!! nonsense", 2),
    ],
)
def test_bad_dockerfiles_are_input_errors(
    tmp_path: Path, content: str | bytes, message: str, line: int | None
) -> None:
    write_tree(tmp_path, {"Dockerfile": content})
    found = load_dockerfile(tmp_path / "Dockerfile", ("app",))
    assert isinstance(found, InputError)
    assert (found.message, found.line) == (message, line)


def test_a_missing_dockerfile_is_an_input_error(tmp_path: Path) -> None:
    found = load_dockerfile(tmp_path / "nope" / "Dockerfile", ("app",))
    assert isinstance(found, InputError) and found.message == "no such Dockerfile"


@pytest.mark.parametrize(
    ("pattern", "image", "builds"),
    [
        ("app", "app", True),
        ("123.dkr.ecr.eu-west-1.amazonaws.com/app", "123.dkr.ecr.eu-west-1.amazonaws.com/app:1.2", True),
        (
            "123.dkr.ecr.eu-west-1.amazonaws.com/app",
            f"123.dkr.ecr.eu-west-1.amazonaws.com/app:{UNKNOWN_PART}",
            True,
        ),
        (
            "123.dkr.ecr.eu-west-1.amazonaws.com/app",
            "123.dkr.ecr.eu-west-1.amazonaws.com/app-worker:1",
            False,
        ),
        ("*/web:*", "registry.local:5000/web:3", True),
        ("app:1", "app:2", False),
        ("registry.local:5000/web", "registry.local:5000/web@sha256:abc", True),
    ],
)
def test_which_images_a_build_makes(tmp_path: Path, pattern: str, image: str, builds: bool) -> None:
    build = build_of(tmp_path, "FROM python\n")
    assert ImageBuild(**{**build.__dict__, "images": (pattern,)}).builds(image) is builds


def test_glob_lists_copied_files_as_glob_does(tmp_path: Path) -> None:
    files = {
        "conf/a.conf": "a",
        "conf/b.conf": "b",
        "conf/.hidden.conf": "h",
        "conf/notes.txt": "n",
        "extra.conf": "e",
    }
    build = build_of(
        tmp_path,
        "FROM nginx\nCOPY conf/ /etc/nginx/conf.d/\nCOPY extra.conf /etc/nginx/conf.d/\n",
        files,
    )
    found = build.glob("/etc/nginx/conf.d/*.conf")
    assert [file.path for file in found] == [
        "/etc/nginx/conf.d/a.conf",
        "/etc/nginx/conf.d/b.conf",
        "/etc/nginx/conf.d/extra.conf",
    ]
    assert [file.path for file in build.glob("/etc/nginx/conf.d/.*")] == ["/etc/nginx/conf.d/.hidden.conf"]


def test_a_copy_without_a_slash_may_go_into_a_directory_of_the_base_image(tmp_path: Path) -> None:
    # `COPY site.conf /etc/nginx/conf.d`: into the directory when the base image has it (moby copy.go)
    build = build_of(tmp_path, "FROM nginx\nCOPY site.conf /etc/nginx/conf.d\n", {"site.conf": "server {}"})
    assert [file.path for file in build.glob("/etc/nginx/conf.d/*.conf")] == ["/etc/nginx/conf.d/site.conf"]
    assert build.file("/etc/nginx/conf.d") is not None  # or a file of that name, as the base decides


def test_empty_lines_inside_a_continuation_are_skipped(tmp_path: Path) -> None:
    build = build_of(
        tmp_path, "FROM debian\nRUN apt-get update && \\\n\n    apt-get install -y curl\nCMD run\n"
    )
    assert build.command is not None and build.command.value == ("/bin/sh", "-c", "run")


def test_copy_parents_keeps_the_source_directories(tmp_path: Path) -> None:
    build = build_of(
        tmp_path,
        "FROM python\nWORKDIR /app\nCOPY --parents conf/*.py ./\n",
        {"conf/gunicorn.conf.py": "keepalive = 75\n"},
    )
    assert build.file("conf/gunicorn.conf.py") is not None
    assert build.file("gunicorn.conf.py") is None


def test_heredocs_only_in_run_copy_and_add(tmp_path: Path) -> None:
    # `<<EOF` in a LABEL is text, not a heredoc: the next lines are instructions
    build = build_of(tmp_path, 'FROM python\nLABEL note="a <<EOF b"\nCMD ["uvicorn", "app:app"]\n')
    assert build.command is not None and build.command.value == ("uvicorn", "app:app")
