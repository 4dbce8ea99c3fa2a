"""Shell rules for command strings: quotes, escapes, expansion, chains, redirections."""

from __future__ import annotations

import pytest

from policies.model import UNKNOWN_PART, Location, Setting
from policies.servers.argv import option, split_script, unwrap

HERE = Location("main.tf", 1)
ENV = {"PORT": Setting("8000", HERE), "SECRET": Setting.unknown(HERE, "from a secret")}


@pytest.mark.parametrize(
    ("script", "commands"),
    [
        ("gunicorn app:app", [["gunicorn", "app:app"]]),
        ("a && b || c; d | e & f", [["a"], ["b"], ["c"], ["d"], ["e"], ["f"]]),
        ("echo 'single $PORT' \"double $PORT\" $PORT", [["echo", "single $PORT", "double 8000", "8000"]]),
        ('printf "a\\"b" c\\ d', [["printf", 'a"b', "c d"]]),
        ("run ${PORT} ${MISSING:-9000} ${PORT:+set} ${MISSING:+set}x", [["run", "8000", "9000", "set", "x"]]),
        ("run $SECRET $(date) `date`", [["run", UNKNOWN_PART, UNKNOWN_PART, UNKNOWN_PART]]),
        ("serve > /tmp/log 2>&1 < /dev/null", [["serve"]]),
        ("# a comment\nserve # trailing", [["serve"]]),
        ('""', [[""]]),
    ],
)
def test_split_script(script: str, commands: list[list[str]]) -> None:
    assert split_script(script, ENV) == commands


def test_positional_parameters() -> None:
    assert split_script('exec "$@"', {}, ("gunicorn", "a b")) == [["exec", "gunicorn", "a b"]]
    assert split_script("exec $1", {}, ("uvicorn",)) == [["exec", "uvicorn"]]


@pytest.mark.parametrize(
    ("words", "program"),
    [
        (["exec", "gunicorn"], ["gunicorn"]),
        (["tini", "-s", "-e", "143", "--", "uvicorn"], ["uvicorn"]),
        (["dumb-init", "--rewrite", "15:2", "uvicorn"], ["uvicorn"]),
        (["python3.12", "-u", "-X", "dev", "-m", "gunicorn"], ["gunicorn"]),
        (["python", "-mgunicorn"], ["gunicorn"]),
        (["python", "app.py"], ["python", "app.py"]),
        (["python", "-c", "import app", "-m", "gunicorn"], ["python", "-c", "import app", "-m", "gunicorn"]),
        (["uv", "run", "--with", "x", "--", "gunicorn"], ["gunicorn"]),
        (["FOO=1", "BAR=2", "gunicorn"], ["gunicorn"]),
        (["bundle", "exec", "puma"], ["puma"]),
    ],
)
def test_unwrap(words: list[str], program: list[str]) -> None:
    assert unwrap(words)[0] == program


def test_option_forms_and_last_wins() -> None:
    args = ("-k", "sync", "--worker-class=gevent", "-kgthread", "--threads", "4")
    found = option(args, ("-k", "--worker-class"))
    assert found is not None and found.value == "gthread" and found.written == "-kgthread"
    found = option(args, ("--threads",))
    assert found is not None and found.value == "4" and found.written == "--threads 4"
    assert option(args, ("--keep-alive",)) is None


@pytest.mark.parametrize(
    ("script", "words"),
    [
        ("run ${A:-${B:-75}}", ["run", "80"]),  # B=80
        ("run ${A:-$B}", ["run", "80"]),
        ("run ${C:-${D:-75}}", ["run", "75"]),
        ("run ${1:-gunicorn}", ["run", "gunicorn"]),
        ('run "${A:-x y}"', ["run", "x y"]),
        # operators keepalive-guard does not model give an unknown word, never the whole value
        ("run ${X%%.*}", ["run", UNKNOWN_PART]),
        ("run ${X:0:2}", ["run", UNKNOWN_PART]),
        ("run ${X/a/b}", ["run", UNKNOWN_PART]),
    ],
)
def test_parameter_expansion(script: str, words: list[str]) -> None:
    env = {"B": Setting("80", HERE), "X": Setting("a.b.c", HERE)}
    assert split_script(script, env) == [words]


def test_deeply_nested_defaults_end() -> None:
    script = "run " + "${A:-" * 5000 + "x" + "}" * 5000
    assert split_script(script, {})[0][0] == "run"


def test_heredoc_bodies_are_input_not_commands() -> None:
    script = "cat > /tmp/motd <<'EOF'\nDon't panic\nrm -rf /\nEOF\nexec uvicorn app:app\n"
    assert split_script(script, {}) == [["cat"], ["exec", "uvicorn", "app:app"]]
    tabbed = "cat <<-END\n\tbody\n\tEND\nrun\n"
    assert split_script(tabbed, {}) == [["cat"], ["run"]]


def test_digits_that_are_not_decimal_are_not_positional_parameters() -> None:
    # "²".isdigit() is true, but int("²") fails: found by the property test
    assert split_script("run $² x", {}) == [["run", "$²", "x"]]
