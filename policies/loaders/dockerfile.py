"""Dockerfiles into model `ImageBuild`s: what the final stage runs, with which environment, labels and
working directory, and which local files it copies in.

Follows the Dockerfile reference (https://docs.docker.com/reference/dockerfile/): the `escape` parser
directive, line continuations, heredocs, exec and shell forms (with SHELL), ARG and ENV substitution
(`$A`, `${A}`, `${A:-word}`, `${A:+word}`), stages (`FROM ... AS name`, `FROM name`, `COPY --from`).
The image is the final stage, as `docker build` without `--target` builds it. Nothing is run: a RUN
step's effects are not known, so only files copied from the build context count.
"""

from __future__ import annotations

import copy as copying
import dataclasses
import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from policies.loaders.reading import ANYWHERE, Reader
from policies.model import (
    UNKNOWN_PART,
    Copy,
    ImageBuild,
    InputError,
    Location,
    Setting,
    locate,
    shown_path,
)

MAX_SIZE = 1 << 20  # a Dockerfile larger than 1 MB is not a Dockerfile
_DIRECTIVE = re.compile(r"#\s*([A-Za-z]+)\s*=\s*(\S+)\s*$")
_INSTRUCTION = re.compile(r"\s*([A-Za-z]+)(?:\s+(.*))?$", re.S)
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_DEFAULT_SHELL = ("/bin/sh", "-c")


@dataclass
class _Stage:
    name: str | None
    base: Setting[str]  # the external image at the root of this stage's FROM chain
    location: Location
    entry_point: Setting[tuple[str, ...]] | None = None
    command: Setting[tuple[str, ...]] | None = None
    command_set_here: bool = False  # CMD written in this stage (ENTRYPOINT resets an inherited CMD)
    env: dict[str, Setting[str]] = field(default_factory=dict)
    labels: dict[str, Setting[str]] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)
    workdir: str = "/"
    directories: set[str] = field(default_factory=lambda: {"/"})
    copies: list[Copy] = field(default_factory=list)
    builders: list[str] = field(default_factory=list)
    shell: tuple[str, ...] = _DEFAULT_SHELL

    def variables(self) -> dict[str, str]:
        values = dict(self.args)
        values.update({name: setting.value or UNKNOWN_PART for name, setting in self.env.items()})
        return values


class _Words:
    """Docker's word processing for ENV, LABEL, ARG, COPY, WORKDIR and FROM: quotes, escapes and
    variable substitution (moby/buildkit frontend/dockerfile/shell/lex.go)."""

    def __init__(self, text: str, variables: dict[str, str], escape: str):
        self.text, self.variables, self.escape = text, variables, escape
        self.position = 0

    def words(self) -> list[str]:
        found: list[str] = []
        word: list[str] | None = None
        text = self.text
        while self.position < len(text):
            char = text[self.position]
            if char.isspace():
                if word is not None:
                    found.append("".join(word))
                    word = None
                self.position += 1
                continue
            word = word if word is not None else []
            if char == "'":
                end = text.find("'", self.position + 1)
                end = len(text) if end < 0 else end
                word.append(text[self.position + 1 : end])
                self.position = end + 1
            elif char == '"':
                self.position += 1
                while self.position < len(text) and text[self.position] != '"':
                    inner = text[self.position]
                    if inner == self.escape and self.position + 1 < len(text):
                        word.append(text[self.position + 1])
                        self.position += 2
                    elif inner == "$":
                        word.append(self.expand())
                    else:
                        word.append(inner)
                        self.position += 1
                self.position += 1
            elif char == self.escape and self.position + 1 < len(text):
                word.append(text[self.position + 1])
                self.position += 2
            elif char == "$":
                word.append(self.expand())
            else:
                word.append(char)
                self.position += 1
        if word is not None:
            found.append("".join(word))
        return found

    def expand(self) -> str:
        text, start = self.text, self.position
        if text.startswith("${", start):
            end = text.find("}", start)
            if end < 0:
                self.position = len(text)
                return UNKNOWN_PART
            self.position = end + 1
            match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?::([-+])(.*))?", text[start + 2 : end], re.S)
            if not match:
                return UNKNOWN_PART  # ${A#pattern} and the like: not worth guessing
            name, operator, word = match.groups()
            value = self.variables.get(name)
            if operator == "-":
                return value if value else _Words(word, self.variables, self.escape).joined()
            if operator == "+":
                return _Words(word, self.variables, self.escape).joined() if value else ""
            return value or ""
        match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(text, start + 1)
        if not match:
            self.position += 1
            return "$"
        self.position = match.end()
        return self.variables.get(match.group(), "")

    def joined(self) -> str:
        return " ".join(self.words())


def _logical_lines(text: str) -> tuple[list[tuple[int, str]], str]:
    """(line number, instruction) pairs with continuations joined and heredoc bodies dropped, and the
    escape character."""
    lines = text.splitlines()
    escape = "\\"
    index = 0
    while index < len(lines):  # parser directives come first
        match = _DIRECTIVE.match(lines[index])
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            escape = match.group(2)
        index += 1
    found: list[tuple[int, str]] = []
    while index < len(lines):
        stripped = lines[index].strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        start, parts = index + 1, list[str]()
        while index < len(lines):
            line = lines[index]
            index += 1
            if parts and (line.strip().startswith("#") or not line.strip()):
                continue  # a comment or an empty line inside a continued instruction (BuildKit skips both)
            if line.rstrip().endswith(escape):
                parts.append(line.rstrip()[:-1])
                continue
            parts.append(line)
            break
        logical = "".join(parts)
        keyword = logical.split(None, 1)[0].upper() if logical.split() else ""
        heredocs = _HEREDOC.finditer(logical) if keyword in ("RUN", "COPY", "ADD") else ()  # BuildKit's
        for heredoc in heredocs:
            strip_tabs, word = heredoc.group(1), heredoc.group(3)
            while index < len(lines):
                line = lines[index]
                index += 1
                if (line.lstrip("\t") if strip_tabs else line) == word:
                    break
        found.append((start, logical))
    return found, escape


def _argv(text: str, stage: _Stage, location: Location) -> Setting[tuple[str, ...]]:
    """An ENTRYPOINT or CMD: the exec form (a JSON array of strings) as it is, else the shell form run
    by the stage's SHELL. Docker substitutes no variables in either: the shell does at run time."""
    if text.startswith("["):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            value = None
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return Setting(tuple(value), location)
    return Setting((*stage.shell, text), location)


def _absolute(path: str, workdir: str) -> str:
    """`path` in the image, made absolute against `workdir`; a trailing "/" is kept."""
    joined = posixpath.normpath(posixpath.join(workdir, path))
    return joined + "/" if path.endswith("/") and joined != "/" else joined


class _Dockerfile:
    def __init__(self, path: Path, context: Path):
        self.path, self.context = path, context.resolve()
        self.shown = shown_path(path)
        self.stages: list[_Stage] = []
        self.global_args: dict[str, str] = {}
        self.escape = "\\"

    def at(self, line: int) -> Location:
        return Location(self.shown, line)

    def words(self, text: str, stage: _Stage | None) -> list[str]:
        variables = stage.variables() if stage is not None else dict(self.global_args)
        return _Words(text, variables, self.escape).words()

    def stage_named(self, name: str) -> _Stage | None:
        if name.isdecimal():
            return self.stages[int(name)] if int(name) < len(self.stages) else None
        return next((stage for stage in reversed(self.stages) if stage.name == name.lower()), None)

    def parse(self, text: str) -> ImageBuild | InputError:
        instructions, self.escape = _logical_lines(text)
        for line, instruction in instructions:
            match = _INSTRUCTION.match(instruction)
            if not match:
                return InputError(
                    self.shown, f"not a Dockerfile instruction: {instruction.strip()[:60]}", line
                )
            keyword, rest = match.group(1).upper(), (match.group(2) or "").strip()
            stage = self.stages[-1] if self.stages else None
            if keyword == "FROM":
                self.from_(rest, line)
            elif keyword == "ARG":
                self.arg(rest, stage)
            elif stage is None:
                message = f"{keyword} before the first FROM (only ARG may come before it)"
                return InputError(self.shown, message, line)
            else:
                self.instruction(keyword, rest, stage, line)
        if not self.stages:
            return InputError(self.shown, "no FROM instruction: not a Dockerfile")
        return self.image()

    def from_(self, rest: str, line: int) -> None:
        words = [word for word in self.words(rest, None) if not word.startswith("--")]
        reference = words[0] if words else UNKNOWN_PART
        name = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
        parent = self.stage_named(reference) if not reference.isdecimal() else None
        location = self.at(line)
        if parent is not None:
            stage = copying.deepcopy(parent)
            stage.name, stage.location, stage.command_set_here, stage.args = name, location, False, {}
        else:
            stage = _Stage(name, Setting(reference, location, note="FROM in the Dockerfile"), location)
        self.stages.append(stage)

    def arg(self, rest: str, stage: _Stage | None) -> None:
        for word in self.words(rest, stage):
            name, equals, value = word.partition("=")
            if stage is None:
                self.global_args[name] = value if equals else UNKNOWN_PART
            elif equals:
                stage.args[name] = value
            else:
                # a global ARG's value, when declared again in the stage; else given only by --build-arg
                stage.args[name] = self.global_args.get(name, UNKNOWN_PART)

    def instruction(self, keyword: str, rest: str, stage: _Stage, line: int) -> None:
        location = self.at(line)
        if keyword == "ENV":
            for name, value in self.pairs(rest, stage):
                stage.env[name] = Setting(value, location, note=f"ENV {name} in the Dockerfile")
        elif keyword == "LABEL":
            for name, value in self.pairs(rest, stage):
                stage.labels[name] = Setting(value, location, note=f"LABEL {name} in the Dockerfile")
        elif keyword == "WORKDIR":
            words = self.words(rest, stage)
            stage.workdir = _absolute(words[0], stage.workdir).rstrip("/") or "/" if words else stage.workdir
            stage.directories.add(stage.workdir)
        elif keyword == "ENTRYPOINT":
            stage.entry_point = _argv(rest, stage, location)
            if not stage.command_set_here:
                stage.command = None  # ENTRYPOINT resets a CMD inherited from the base
        elif keyword == "CMD":
            stage.command, stage.command_set_here = _argv(rest, stage, location), True
        elif keyword == "SHELL":
            shell = _argv(rest, stage, location).value
            if rest.startswith("[") and shell:
                stage.shell = shell
        elif keyword in ("COPY", "ADD"):
            self.copy(rest, stage, location)

    def pairs(self, rest: str, stage: _Stage) -> list[tuple[str, str]]:
        """`KEY=value ...` pairs, or the legacy `KEY value with spaces` form."""
        words = self.words(rest, stage)
        if words and "=" not in words[0]:
            name, _, value = rest.partition(" ")
            return [(name, " ".join(self.words(value.strip(), stage)))]
        return [(name, value) for name, _, value in (word.partition("=") for word in words)]

    def copy(self, rest: str, stage: _Stage, location: Location) -> None:
        if rest.lstrip().startswith("<<"):
            return  # a heredoc file: written inline, not copied from the context
        words = self.words(rest, stage)
        options = [word for word in words if word.startswith("--")]
        words = [word for word in words if not word.startswith("--")]
        if rest.strip().startswith("[") or (words and words[0].startswith("[")):
            try:
                words = [str(item) for item in json.loads(rest[rest.index("[") :])]
            except (ValueError, RecursionError):
                return
        if len(words) < 2:
            return
        *sources, destination = words
        origin = next((option.split("=", 1)[1] for option in options if option.startswith("--from=")), None)
        into_directory = destination.endswith("/") or len(sources) > 1
        destination = _absolute(destination, stage.workdir)
        if destination.rstrip("/") in stage.directories or into_directory:
            destination = destination.rstrip("/") + "/" if destination != "/" else "/"
        parents = "--parents" in options and origin is None
        for local in self.sources(sources, origin, stage):
            target = destination
            if parents:  # COPY --parents conf/*.py /app/ keeps conf/: /app/conf/gunicorn.conf.py
                relative = local.relative_to(self.context)
                kept = relative if local.is_dir() else relative.parent
                target = posixpath.normpath(posixpath.join(destination, kept.as_posix()))
                target = target if local.is_dir() else target.rstrip("/") + "/"
            stage.copies.append(Copy(local, target, location))
            if local.is_dir():
                stage.directories.add(target.rstrip("/") or "/")
            elif not target.endswith("/"):
                # `COPY site.conf /etc/nginx/conf.d` copies into the directory when the base image has
                # it (moby builder/dockerfile/copy.go: `endsInSlash(dest) || destExistsAsDir`), which
                # the base image's files decide: the file may be at either path.
                stage.copies.append(Copy(local, target + "/", location))

    def sources(self, sources: list[str], origin: str | None, stage: _Stage) -> list[Path]:
        if origin is not None:
            other = self.stage_named(origin)
            if other is None:
                stage.builders.append(origin)  # an image: its files are not visible
                return []
            if other.base.value:
                stage.builders.append(other.base.value)
            stage.builders.extend(other.builders)
            located = (
                locate(tuple(other.copies), _absolute(source, "/").rstrip("/") or "/") for source in sources
            )
            return [path for path in located if path is not None]
        found: list[Path] = []
        for source in sources:
            if UNKNOWN_PART in source or re.match(r"[a-z]+://", source) or source.startswith("git@"):
                continue
            matches = (
                sorted(self.context.glob(source.lstrip("/")))
                if re.search(r"[*?\[]", source)
                else [self.context / source.lstrip("/")]
            )
            for path in matches:
                resolved = path.resolve()
                if resolved.exists() and resolved.is_relative_to(self.context):
                    found.append(resolved)
        return found

    def image(self) -> ImageBuild:
        final = self.stages[-1]
        return ImageBuild(
            images=(),
            dockerfile=final.location,
            base=final.base,
            entry_point=final.entry_point,
            command=final.command,
            environment=tuple(final.env.items()),
            labels=tuple(final.labels.items()),
            workdir=final.workdir,
            copies=tuple(final.copies),
            inherits_command=final.entry_point is None and final.command is None,
            builders=tuple(dict.fromkeys(final.builders)),
        )


def load_dockerfile(
    path: Path, images: tuple[str, ...], context: Path | None = None, reader: Reader = ANYWHERE
) -> ImageBuild | InputError:
    """The image the Dockerfile at `path` builds, for containers naming one of `images`; the build
    context is `context`, by default the Dockerfile's directory. It is read through `reader`."""
    shown = shown_path(path)
    if path.is_dir():
        path = path / "Dockerfile"
        shown = shown_path(path)
    if not path.exists():
        return InputError(shown, "no such Dockerfile")
    text, error = reader.read(path, shown)
    if text is None:
        return error or InputError(shown, "cannot be read")
    if len(text) > MAX_SIZE:
        return InputError(shown, f"larger than {MAX_SIZE >> 20} MB: not read as a Dockerfile")
    found = _Dockerfile(path, context if context is not None else path.parent).parse(text)
    if isinstance(found, InputError):
        return found
    return dataclasses.replace(found, images=images)
