"""From a container's entryPoint, command and environment to the server commands it really runs.

Docker combines `entryPoint` and `command` (a task-definition entryPoint replaces the image's, and then
the image's CMD is not used); shells (`sh -c "..."`) are parsed with shell rules; wrappers such as
`tini --`, `exec`, `python -m`, `uv run` or `ddtrace-run` are peeled off. The result is every simple
command the container runs, in order: the caller decides which one is the server.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from policies.model import UNKNOWN_PART, Container, Location, Setting, show
from policies.servers.base import Invocation
from policies.servers.units import plain

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)
_SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"})
_PYTHON = re.compile(r"python(\d+(\.\d+)?)?$")
MAX_DEPTH = 8  # shells inside shells inside shells: deeper is not a real command line


class _Lexer:
    """Split a shell script into simple commands of words, expanding parameters from `env`.

    Commands are produced one at a time (`commands()`), and `env` is read when a command is lexed, so
    a caller that updates `env` between commands sees `A=1; run $A` expand as a shell would."""

    def __init__(
        self,
        script: str,
        env: Mapping[str, Setting[str]],
        positional: tuple[str, ...],
        open_environment: bool = False,
        depth: int = 0,
        zero: str = "sh",
    ):
        self.depth = depth  # of `${A:-${B:-...}}` nesting
        self.zero = zero  # $0: the shell's name, or the word after the script of `sh -c script`
        self.heredocs: list[tuple[str, bool]] = []  # (delimiter, strip tabs) opened on the current line
        self.script = script
        self.env = env
        # Environment files may set any variable: for a name not in `env`, whether `${X:-word}` takes
        # the word is not known. (Otherwise a name not in `env` is taken as unset, as for the image's
        # own ENV when no Dockerfile is known.)
        self.open_environment = open_environment
        self.positional = positional
        self.finished: list[list[str]] = []
        self.words: list[str] = []
        self.word: list[str] | None = None  # None: between words
        self.position = 0

    def end_word(self) -> None:
        if self.word is not None:
            self.words.append("".join(self.word))
            self.word = None

    def end_command(self) -> None:
        self.end_word()
        if self.words:
            self.finished.append(self.words)
        self.words = []

    def add(self, text: str) -> None:
        if self.word is None:
            self.word = []
        self.word.append(text)

    def add_split(self, text: str) -> None:
        """An unquoted expansion: its value is split into words on whitespace."""
        parts = text.split()
        if not parts:
            return
        if text[:1].isspace():
            self.end_word()
        for index, part in enumerate(parts):
            if index:
                self.end_word()
            self.add(part)
        if text[-1:].isspace():
            self.end_word()

    def variable(self, name: str) -> str:
        setting = self.env.get(name)
        if setting is None or setting.value is None:
            return UNKNOWN_PART
        return setting.value

    def expansion(self, quoted: bool) -> None:
        """Expand the `$...` at the current position."""
        script, start = self.script, self.position
        following = script[start + 1 : start + 2]
        value: str | None
        if following == "{":
            end = _closing_brace(script, start + 2)
            if end < 0:
                self.add("$")
                self.position += 1
                return
            body = script[start + 2 : end]
            self.position = end + 1
            match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*|\d+|[@*#?])(:?[-=+?])?(.*)", body, re.S)
            if not match or (match.group(2) is None and match.group(3)):
                value = UNKNOWN_PART  # ${X%%.*}, ${X:0:2}, ${X/a/b}, ${#X}: not worth modelling
            else:
                name, operator, word = match.groups()
                value = self._parameter(name, quoted, operator, self._expanded_word(word) if operator else "")
                if value is None:
                    return
        elif following == "(":
            depth, index = 0, start + 1
            while index < len(script):
                if script[index] == "(":
                    depth += 1
                elif script[index] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                index += 1
            self.position = index + 1
            value = UNKNOWN_PART  # command substitution: its output is not known statically
        elif following in ("@", "*") or following.isdecimal():
            self.position = start + 2
            value = self._parameter(following, quoted, None, "")
            if value is None:
                return
        else:
            match = _NAME.match(script, start + 1)
            if not match:
                self.add("$")
                self.position += 1
                return
            self.position = match.end()
            value = self.variable(match.group())
        if quoted:
            self.add(value)
        else:
            self.add_split(value)

    def _parameter(self, name: str, quoted: bool, operator: str | None, word: str) -> str | None:
        if name in ("@", "*"):
            if quoted and name == "@":
                # "$@": each positional parameter is its own word
                for index, argument in enumerate(self.positional):
                    if index:
                        self.end_word()
                    self.add(argument)
                if not self.positional and self.word == []:
                    self.word = None
                return None
            return " ".join(self.positional)
        if name == "0":
            return self.zero
        if name.isdecimal():
            index = int(name)
            given = self.positional[index - 1] if 0 < index <= len(self.positional) else None
            if operator in (":-", "-", ":=", "=") and (given is None or (given == "" and operator[0] == ":")):
                return word
            if operator in (":+", "+"):
                return word if given else ""
            return given or ""
        setting = self.env.get(name)
        if setting is None and self.open_environment and operator:
            return UNKNOWN_PART  # an environment file may set it: which word applies is not known
        known = setting is not None and setting.value is not None
        unset_or_empty = setting is None or (
            operator is not None and operator.startswith(":") and known and setting.value == ""
        )
        if operator in (":-", "-", ":=", "=") and unset_or_empty:
            return word
        if operator in (":+", "+"):
            return word if known else ""
        return self.variable(name)

    def _expanded_word(self, word: str) -> str:
        """The word of `${X:-word}`, itself expanded (`${A:-${B:-75}}`, `${A:-$B}`), quotes removed."""
        if self.depth >= MAX_DEPTH:
            return UNKNOWN_PART
        inner = _Lexer(word, self.env, self.positional, self.open_environment, self.depth + 1, self.zero)
        return " ".join(word for command in inner.commands() for word in command)

    def commands(self) -> Iterator[list[str]]:
        script = self.script
        while self.position < len(script):
            if self.finished:
                yield self.finished.pop(0)
            char = script[self.position]
            if char == "'":
                end = script.find("'", self.position + 1)
                end = len(script) if end < 0 else end
                self.add(script[self.position + 1 : end])
                self.position = end + 1
            elif char == '"':
                self.double_quoted()
            elif char == "\\":
                if self.position + 1 < len(script) and script[self.position + 1] != "\n":
                    self.add(script[self.position + 1])
                self.position += 2
            elif char == "$" or char == "`":
                if char == "`":
                    end = script.find("`", self.position + 1)
                    self.position = len(script) if end < 0 else end + 1
                    self.add(UNKNOWN_PART)
                else:
                    self.expansion(quoted=False)
            elif char in " \t":
                self.end_word()
                self.position += 1
            elif char in ";&|\n()":
                self.end_command()
                self.position += 1
                if char == "\n" and self.heredocs:
                    self.skip_heredocs()
            elif char == "#" and self.word is None:
                end = script.find("\n", self.position)
                self.position = len(script) if end < 0 else end
            elif char in "<>":
                self.redirection()
            else:
                self.add(char)
                self.position += 1
        self.end_command()
        yield from self.finished

    def double_quoted(self) -> None:
        script = self.script
        self.position += 1
        self.add("")
        while self.position < len(script) and script[self.position] != '"':
            char = script[self.position]
            if char == "\\" and script[self.position + 1 : self.position + 2] in ('"', "\\", "$", "`"):
                self.add(script[self.position + 1])
                self.position += 2
            elif char == "$":
                self.expansion(quoted=True)
            elif char == "`":
                end = script.find("`", self.position + 1)
                self.position = len(script) if end < 0 else end + 1
                self.add(UNKNOWN_PART)
            else:
                self.add(char)
                self.position += 1
        self.position += 1

    def redirection(self) -> None:
        """Drop `>file`, `2>&1`, `<input` and the like: they are not arguments."""
        if self.word is not None and "".join(self.word).isdecimal():
            self.word = None  # the descriptor number before >
        script = self.script
        start = self.position
        self.position += 1
        while self.position < len(script) and script[self.position] in "<>&|-":
            self.position += 1
        operator = script[start : self.position]
        while self.position < len(script) and script[self.position] in " \t":
            self.position += 1
        if script[self.position - 1 : self.position] == "&":
            while self.position < len(script) and script[self.position].isdecimal():
                self.position += 1
            return
        target = self.position
        while self.position < len(script) and script[self.position] not in " \t\n;&|":
            self.position += 1
        if operator in ("<<", "<<-"):  # a heredoc: its body, up to the delimiter line, is input, not commands
            self.heredocs.append((script[target : self.position].strip("'\""), operator == "<<-"))

    def skip_heredocs(self) -> None:
        """At the end of a line, skip the bodies of the heredocs it opened."""
        for delimiter, strip_tabs in self.heredocs:
            while self.position < len(self.script):
                end = self.script.find("\n", self.position)
                end = len(self.script) if end < 0 else end
                line = self.script[self.position : end]
                self.position = end + 1
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
        self.heredocs = []


def _closing_brace(script: str, start: int) -> int:
    """The index of the `}` that closes a `${` whose body starts at `start`, nested `${...}` skipped."""
    depth = 1
    for index in range(start, len(script)):
        if script.startswith("${", index):
            depth += 1
        elif script[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def split_script(
    script: str, env: Mapping[str, Setting[str]], positional: tuple[str, ...] = ()
) -> list[list[str]]:
    """The simple commands of a shell script, with parameters expanded from `env`."""
    return list(_Lexer(script, env, positional).commands())


def _skip_options(args: list[str], with_values: frozenset[str] = frozenset()) -> list[str]:
    """`args` after leading options (and a `--`), skipping the values of `with_values` options."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            return args[index + 1 :]
        if not arg.startswith("-") or arg == "-":
            return args[index:]
        index += 2 if arg in with_values else 1
    return []


def _after_double_dash(args: list[str]) -> list[str]:
    return args[args.index("--") + 1 :] if "--" in args else []


_TINI_VALUES = frozenset({"-e", "-p"})
_DUMB_INIT_VALUES = frozenset({"-r", "--rewrite"})
_PYTHON_VALUES = frozenset({"-X", "-W"})
_UV_VALUES = frozenset(
    {
        "--with",
        "--with-requirements",
        "--with-editable",
        "--python",
        "-p",
        "--project",
        "--directory",
        "--env-file",
        "--group",
        "--extra",
        "--package",
        "--index",
        "--index-url",
        "--extra-index-url",
        "--only-group",
        "--no-group",
    }
)
# Shell reserved words that may start a simple command as the lexer splits it (`then exec gunicorn`);
# the ones that end a compound command (fi, done, esac, }) run nothing.
_KEYWORDS = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"})
_ENDS = frozenset({"fi", "done", "esac", "}"})
_CHPST_VALUES = frozenset(
    {"-u", "-U", "-b", "-e", "-/", "-n", "-l", "-L", "-m", "-d", "-o", "-p", "-f", "-c", "-r", "-t"}
)
_RUNNERS = frozenset({"poetry", "pipenv", "pdm", "hatch", "rye", "bundle"})
# Secret injectors that run the command after `--`.
_AFTER_DASHES = frozenset({"doppler", "aws-vault", "chamber", "op", "infisical", "teller", "sops", "berglas"})


def unwrap(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """The real program behind wrappers, and environment assignments made on the way."""
    assignments: dict[str, str] = {}
    for _ in range(32):
        while words and _ASSIGNMENT.fullmatch(words[0]) and not words[0].startswith("-"):
            name, value = _ASSIGNMENT.fullmatch(words[0]).groups()  # type: ignore[union-attr]
            assignments[name] = value
            words = words[1:]
        if not words:
            return words, assignments
        program = words[0].rsplit("/", 1)[-1]
        args = words[1:]
        if program in _KEYWORDS:
            words = args  # `if ...; then exec gunicorn ...; fi`: the command after the keyword
        elif program in ("exec", "nohup", "setsid", "ddtrace-run"):
            words = _skip_options(args, frozenset({"-a"})) if program == "exec" else args
        elif program == "npx":
            words = _skip_options(args, frozenset({"-p", "--package"}))  # npx -y next start
        elif program in ("tini", "tini-static", "tini-static-amd64"):
            words = _skip_options(args, _TINI_VALUES)
        elif program == "dumb-init":
            words = _skip_options(args, _DUMB_INIT_VALUES)
        elif program in ("gosu", "su-exec", "s6-setuidgid"):
            words = args[1:]
        elif program in ("su", "runuser") and "-c" in args and args.index("-c") + 1 < len(args):
            words = ["sh", "-c", args[args.index("-c") + 1]]  # su app -c "gunicorn ..."
        elif program in ("runuser", "setpriv") and "--" in args:
            words = _after_double_dash(args)
        elif program == "setpriv":
            words = _skip_options(args)
        elif program == "chpst":
            words = _skip_options(args, _CHPST_VALUES)
        elif program == "cross-env":
            words = args  # cross-env A=1 B=2 node server.js: the assignments are taken next
        elif program == "env":
            split = next((i for i, arg in enumerate(args) if arg in ("-S", "--split-string")), None)
            if split is not None and split + 1 < len(args):
                words = [*args[split + 1].split(), *args[split + 2 :]]  # env -S "gunicorn -k gevent app"
            else:
                words = _skip_options(args, frozenset({"-u", "--unset", "-C", "--chdir"}))
        elif program == "nice":
            words = _skip_options(args, frozenset({"-n", "--adjustment"}))
        elif _PYTHON.fullmatch(program):
            rest = _skip_python_options(args)
            if len(rest) >= 2 and rest[0] == "-m":
                words = rest[1:]
            else:
                return words, assignments
        elif program == "uv" and args[:1] == ["run"]:
            words = _skip_options(args[1:], _UV_VALUES)
        elif program in _RUNNERS and args[:1] in (["run"], ["exec"]):
            words = _skip_options(args[1:])
        elif program == "opentelemetry-instrument":
            words = _skip_otel_options(args)
        elif program == "newrelic-admin" and args[:1] in (["run-program"], ["run-python"]):
            words = args[1:] if args[0] == "run-program" else ["python", *args[1:]]
        elif program in _AFTER_DASHES and "--" in args:
            words = _after_double_dash(args)
        elif program in ("docker-entrypoint.sh", "docker-entrypoint") and args:
            # The official images' docker-entrypoint.sh, and the bin/docker-entrypoint of Rails'
            # generated Dockerfiles, end in `exec "$@"` (or `exec "${@}"`).
            words = args
        elif program in ("ruby", "jruby") and args and not any(arg.startswith("-e") for arg in args):
            words = _skip_options(args, frozenset({"-I", "-r", "-C", "-E", "--encoding"}))  # ruby bin/rails s
        else:
            return words, assignments
    return words, assignments


def _skip_python_options(args: list[str]) -> list[str]:
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-m" or not arg.startswith("-"):
            return args[index:]
        if arg.startswith("-m"):
            return ["-m", arg[2:], *args[index + 1 :]]
        if arg.startswith("-c"):
            return []  # python -c CODE: the code runs, and what follows are its arguments
        index += 2 if arg in _PYTHON_VALUES else 1
    return []


def _skip_otel_options(args: list[str]) -> list[str]:
    """opentelemetry-instrument takes `--name value` options before the command."""
    index = 0
    while index < len(args) and args[index].startswith("--"):
        index += 1 if "=" in args[index] else 2
    return args[index:]


def _shell_script(words: list[str]) -> tuple[str, tuple[str, ...]] | None:
    """(script, its $0 and positional parameters) when `words` run a shell with -c."""
    if not words or words[0].rsplit("/", 1)[-1] not in _SHELLS:
        return None
    args = words[1:]
    if words[0].rsplit("/", 1)[-1] == "busybox":
        if not args or args[0] not in _SHELLS:
            return None
        args = args[1:]
    index = 0
    while index < len(args):
        arg = args[index]
        if arg.startswith("--"):
            index += 1  # --login, --norc, ...
        elif arg[:1] in ("-", "+") and len(arg) > 1:
            # -o/+o/-O/+O take a value, also inside a group: `bash -euo pipefail -c "..."`
            values = sum(arg[1:].count(flag) for flag in "oO")
            if "c" in arg[1:]:
                script = index + 1 + values
                # sh -c script [$0 [$1 ...]]
                return (args[script], tuple(args[script + 1 :])) if script < len(args) else None
            index += 1 + values
        else:
            return None  # a script file, not -c
    return None


# A simple command: its words, the environment it runs with, and the directory it runs in ("": the
# container's working directory; relative paths are relative to it; UNKNOWN_PART inside: not known).
Command = tuple[list[str], dict[str, Setting[str]], str]


def _simple_commands(
    words: list[str],
    env: dict[str, Setting[str]],
    location: Location,
    depth: int = 0,
    open_environment: bool = False,
    directory: str = "",
) -> list[Command]:
    """Every simple command `words` runs, each with the environment and directory it runs with."""
    program, assignments = unwrap(words)
    if program and program[0] in _ENDS:
        return []
    env = dict(env)
    for name, value in assignments.items():
        env[name] = Setting(value, location, note=f"{name}={show(value)} in the command")
    script = _shell_script(program)
    if script is None or depth >= MAX_DEPTH:
        return [(program, env, directory)] if program else []
    text, arguments = script
    zero, positional = (arguments[0], arguments[1:]) if arguments else (program[0], ())
    # A shell expands its own variables (`A=1; run $A`), but only exported ones reach a program.
    variables, exported = dict(env), dict(env)
    found: list[Command] = []
    for command in _Lexer(text, variables, positional, open_environment, zero=zero).commands():
        if command[0] == "cd":
            target = next((word for word in command[1:] if not word.startswith("-")), "~")
            known = UNKNOWN_PART not in target and not target.startswith(("~", "-"))
            directory = posixpath.join(directory, target) if known else UNKNOWN_PART
            continue
        if command[0] == "export" or all(_ASSIGNMENT.fullmatch(word) for word in command):
            export = command[0] == "export"
            for word in command[1:] if export else command:
                match = _ASSIGNMENT.fullmatch(word)
                name = match.group(1) if match else word
                if match:
                    variables[name] = Setting(
                        match.group(2), location, note=f"{name}={show(match.group(2))} in the command"
                    )
                if (export or name in exported) and name in variables:
                    exported[name] = variables[name]
            continue
        found.extend(_simple_commands(command, exported, location, depth + 1, open_environment, directory))
    return found


def _aligned(
    program: list[str], words: list[str], locations: list[Location | None]
) -> tuple[Location | None, ...]:
    """Where each word of `program` was written: unwrapping only drops words, so each remaining word is
    the same object as one of `words`, found from the end."""
    found: list[Location | None] = []
    position = len(words)
    for word in reversed(program):
        match = next((index for index in range(position - 1, -1, -1) if words[index] is word), None)
        if match is None:
            found.append(None)
        else:
            found.append(locations[match])
            position = match
    return tuple(reversed(found))


def _image_unknown(container: Container) -> str:
    """Why the image's own ENTRYPOINT/CMD are not visible."""
    build = container.build
    if build is not None:
        return (
            f"the Dockerfile ({build.dockerfile.path}) sets neither ENTRYPOINT nor CMD, so those of its base image "
            f"`{show(build.base.value or '<?>')}` run, which are not visible in the scanned files"
        )
    image = f"`{show(container.image.value)}`" if container.image.value else "an unknown image"
    return f"the image's own ENTRYPOINT/CMD run ({image}), which are not visible in the scanned files"


def command_line(
    container: Container,
) -> tuple[Setting[tuple[str, ...]] | None, Setting[tuple[str, ...]] | None]:
    """The entrypoint and command the container runs, as Docker combines the task's with the image's: a
    task entryPoint replaces the image's ENTRYPOINT and drops its CMD; a task command alone replaces
    the CMD and keeps the ENTRYPOINT."""
    entry_point, command, build = container.entry_point, container.command, container.build
    if build is not None and entry_point is None:
        entry_point = build.entry_point
        if command is None:
            command = build.command
    return entry_point, command


def invocations(container: Container) -> tuple[list[Invocation], str]:
    """The commands a container runs, or ([], why) when its command line is not visible."""
    entry_point, command = command_line(container)
    for part in (entry_point, command):
        if part is not None and not part.known:
            return [], f"the command cannot be resolved ({part.note})"
    parts = [part for part in (entry_point, command) if part is not None and part.value]
    if not parts:
        if container.entry_point is None and container.command is None:
            return (
                [],
                f"the task definition sets neither command nor entryPoint, so {_image_unknown(container)}",
            )
        return [], "the command is empty"
    words = [word for part in parts for word in part.value or ()]
    if entry_point is None and words and words[0].startswith("-"):
        # Docker passes a command to the image's ENTRYPOINT (assumed to exec it, as the official images'
        # docker-entrypoint.sh does); a command of options only is meant for an ENTRYPOINT not visible.
        return [], (
            f"the command `{show(' '.join(words))}` holds only options for the image's ENTRYPOINT, and "
            f"{_image_unknown(container)}"
        )
    written: list[Location | None] = []
    for part in parts:
        values = part.value or ()
        written.extend(part.parts if len(part.parts) == len(values) else [part.location] * len(values))
    location = parts[-1].location
    note = "; ".join(part.note for part in parts if part.note)
    found = []
    hidden = bool(container.hidden_environment)
    working = container.working_directory
    start = (working.value or UNKNOWN_PART) if working is not None else ""
    for argv, env, directory in _simple_commands(words, container.env(), location, open_environment=hidden):
        where = _aligned(argv, words, written)
        found.append(
            Invocation(
                tuple(argv),
                env,
                location,
                container.image,
                container.hidden_environment,
                where,
                note,
                container.build,
                workdir=posixpath.join(start, directory) if directory else start,
            )
        )
    text = " ".join(shell_quote(word) for word in words)
    return found, "" if found else f"the command `{show(text)}` runs nothing"


def script_invocations(
    invocation: Invocation, script: str, location: Location, runner: str
) -> list[Invocation]:
    """The commands a script runs when `invocation` runs it with `sh -c` (a package.json script), each
    with the invocation's environment and image, and `runner` (e.g. "npm start") as what started them."""
    found = []
    via = (*invocation.via, runner)
    hidden = bool(invocation.hidden_environment)
    commands = _simple_commands(["sh", "-c", script], dict(invocation.env), location, open_environment=hidden)
    for argv, env, directory in commands:
        workdir = posixpath.join(invocation.workdir, directory) if directory else invocation.workdir
        found.append(
            replace(
                invocation,
                argv=tuple(argv),
                env=env,
                location=location,
                locations=(),
                via=via,
                workdir=workdir,
            )
        )
    return found


def shell_quote(word: str) -> str:
    """`word` as a shell reads it back as one word: bare when it holds only safe characters."""
    return word if re.fullmatch(r"[\w@%+=:,./-]+", word) else "'" + word.replace("'", "'\\''") + "'"


@dataclass(frozen=True)
class Option:
    """An option found on a command line: its value, how it was written, and the index of its value."""

    value: str | None
    written: str
    index: int


def option(args: tuple[str, ...], names: tuple[str, ...], takes_value: bool = True) -> Option | None:
    """The last occurrence of an option (servers take the last one), in `--name=v`, `--name v` or `-nv` form."""
    found: Option | None = None
    index = 0
    while index < len(args):
        arg = args[index]
        for name in names:
            if arg == name:
                if not takes_value:
                    found = Option(None, arg, index)
                elif index + 1 < len(args):
                    found = Option(args[index + 1], f"{arg} {args[index + 1]}", index + 1)
                    index += 1
                break
            if takes_value and arg.startswith(name + "="):
                found = Option(arg[len(name) + 1 :], arg, index)
                break
            if takes_value and len(name) == 2 and not name.startswith("--") and arg.startswith(name):
                found = Option(arg[2:], arg, index)
                break
        index += 1
    return found


def number(text: str | None) -> float | None:
    """A plain decimal number ("75", "7.5"), or None (also when any part of it is unknown): never
    `nan`, `inf` or `1e3`, which no server's option takes."""
    return plain(text)
