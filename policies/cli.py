"""The command line: `keepalive-guard scan PATH...`, `baseline create`, `servers`, `rules [ID]`,
`cfn-lint-rules`, `--version`.

Exit codes (SPEC.md): 1 when any finding fails the check (error severity; with --fail-on warning, any
finding; with --fail-on never, none); otherwise 2 when usage was wrong or an input could not be
analysed; otherwise 0. Heavy modules are imported only by the command that needs them.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from policies import FAIL_ON, __version__

if TYPE_CHECKING:
    from policies.config import Config
    from policies.loaders import LoadOptions
    from policies.model import Location
    from policies.rules import Options

T = TypeVar("T")

EXIT_CLEAN, EXIT_FINDINGS, EXIT_INCOMPLETE = 0, 1, 2


def _variable(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value


def _dockerfile(text: str) -> tuple[str, Path]:
    image, equals, path = text.partition("=")
    if not equals or not image.strip() or not path.strip():
        raise argparse.ArgumentTypeError(f"expected IMAGE=PATH, got {text!r}")
    return image.strip(), Path(path.strip())


def _margin(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _megabytes(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a size in MB, more than 0, got {text!r}")
    return int(value * (1 << 20))


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, 1 or more, got {text!r}")
    return int(text)


FORMAT_NAMES = ("text", "json", "sarif", "junit", "github")  # policies.reporters.FORMATS, not imported yet


def _rules(text: str) -> list[str]:
    from policies.model import RULE_IDS

    rules = [rule.strip().upper() for rule in text.split(",") if rule.strip()]
    unknown = [rule for rule in rules if rule not in RULE_IDS]
    if unknown or not rules:
        raise argparse.ArgumentTypeError(
            f"unknown rule {unknown[0] if unknown else text!r} (known: {', '.join(RULE_IDS)})"
        )
    return rules


class _Format(argparse.Action):
    """--format NAME: one more report; an --output after it names its file."""

    def __call__(self, parser: Any, namespace: Any, value: Any, option: Any = None) -> None:
        namespace.reports = [*(namespace.reports or []), [value, None]]


class _Output(argparse.Action):
    """--output FILE: the file of the --format just before it (or of the only one, or of text)."""

    def __call__(self, parser: Any, namespace: Any, value: Any, option: Any = None) -> None:
        reports = namespace.reports or []
        if not reports:
            namespace.early_outputs = [*(namespace.early_outputs or []), value]
        elif reports[-1][1] is not None:
            parser.error(f"--format {reports[-1][0]} has two --output files: give one --output per --format")
        else:
            reports[-1][1] = value


def _reports(arguments: argparse.Namespace) -> list[tuple[str, Path | None]] | str:
    """(format, file or None for standard output) pairs, or why the --format/--output given do not pair."""
    reports = [list(report) for report in arguments.reports or [["text", None]]]
    early = arguments.early_outputs or []
    if len(early) > 1 or (early and reports[0][1] is not None):
        return "each --output FILE follows the --format it is for"
    if early:
        reports[0][1] = early[0]
    on_screen = [name for name, file in reports if file is None]
    if len(on_screen) > 1:
        return (
            f"--format {' and '.join(on_screen)} would both write to standard output: give all but one "
            "an --output FILE after it"
        )
    files = [Path(file).resolve() for _, file in reports if file is not None]
    if len(files) != len(set(files)):
        return "two --format options write to the same --output file"
    return [(name, file) for name, file in reports]


def _inputs(command: argparse.ArgumentParser) -> None:
    """The options that decide what is scanned and how: shared by `scan` and `baseline create`."""
    command.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="a directory (searched recursively), a .tf file, a plan JSON file, a CloudFormation template "
        "or a cdk.out directory",
    )
    command.add_argument(
        "--min-margin",
        type=_margin,
        metavar="SECONDS",
        help="KA001: keep-alive must exceed the idle timeout by more than this (default 0)",
    )
    command.add_argument(
        "--select",
        action="extend",
        type=_rules,
        metavar="RULES",
        help="run only these rules, e.g. KA001,DR001 (repeatable; replaces the configuration's select)",
    )
    command.add_argument(
        "--ignore",
        action="extend",
        type=_rules,
        metavar="RULES",
        help="do not run these rules (repeatable; replaces the configuration's ignore)",
    )
    # --var-file and --var share one list, so they apply in command-line order, as for terraform plan.
    command.add_argument(
        "--var-file",
        action="append",
        dest="variables",
        type=Path,
        default=[],
        metavar="FILE",
        help="a Terraform .tfvars file for root modules (repeatable; later ones win)",
    )
    command.add_argument(
        "--var",
        action="append",
        dest="variables",
        type=_variable,
        metavar="NAME=VALUE",
        help="a Terraform variable for root modules (repeatable; later ones win)",
    )
    # --parameters and --parameter share one list too: later values win.
    command.add_argument(
        "--parameters",
        action="append",
        dest="parameters",
        type=Path,
        default=[],
        metavar="FILE",
        help="CloudFormation parameter values, a JSON file as the AWS CLI or CodePipeline takes it (repeatable)",
    )
    command.add_argument(
        "--parameter",
        action="append",
        dest="parameters",
        type=_variable,
        metavar="NAME=VALUE",
        help="a CloudFormation parameter value (repeatable); parameters not given take their Default",
    )
    command.add_argument(
        "--dockerfile",
        action="append",
        dest="dockerfiles",
        type=_dockerfile,
        default=[],
        metavar="IMAGE=PATH",
        help=(
            "containers whose image is IMAGE (a repository stands for all its tags; * matches anything) are "
            "built from the Dockerfile PATH (or PATH/Dockerfile), with PATH's directory as build context "
            "(repeatable)"
        ),
    )
    command.add_argument(
        "--repo-root",
        type=Path,
        metavar="DIR",
        help="the directory the plan JSON was made in (its root module, after terraform init; default: "
        "the plan's own directory when it holds .tf files): findings in plans then point at the .tf file "
        "and line of each resource and attribute, and locals are followed; modules are found through the "
        "plan's module sources (local ones relative to their caller, others through "
        ".terraform/modules/modules.json)",
    )
    command.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="do not look for inputs in files or directories matching PATTERN, relative to the working "
        "directory (repeatable; added to the configuration's excludes)",
    )
    command.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the configuration file (default: the nearest .keepalive-guard.toml or pyproject.toml with "
        "[tool.keepalive-guard], from the first PATH up, else from the working directory up)",
    )
    command.add_argument(
        "--no-cache",
        dest="cache",
        action="store_false",
        help="do not read or write the parse and result cache ($KEEPALIVE_GUARD_CACHE_DIR, else the user cache "
        "directory, e.g. ~/.cache/keepalive-guard)",
    )
    command.add_argument(
        "--jobs",
        "-j",
        type=_jobs,
        metavar="N",
        help="parse Terraform files, and evaluate root modules when there are many (on Linux), in N worker "
        "processes (default: the CPUs available; 1: none)",
    )
    command.add_argument(
        "--max-file-size",
        type=_megabytes,
        metavar="MB",
        help="do not read input files larger than this; each is reported as an input error (default: 100)",
    )
    command.add_argument(
        "--no-prefilter",
        dest="prefilter",
        action="store_false",
        help="parse every .tf file, also those that cannot declare anything a load balancer chain is read "
        "from (their syntax errors are then reported too)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keepalive-guard",
        description="Find load balancer keep-alive races and deregistration cuts (random 502s) before deploy.",
    )
    parser.add_argument("--version", action="version", version=f"keepalive-guard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    scan = commands.add_parser(
        "scan",
        help="scan Terraform configurations and plans, CloudFormation templates and cdk.out",
        description="Scan Terraform directories, .tf files, plan JSON (terraform show -json tfplan), "
        "CloudFormation templates and CDK cloud assemblies.",
    )
    _inputs(scan)
    scan.add_argument(
        "--format",
        action=_Format,
        choices=FORMAT_NAMES,
        dest="reports",
        help="output format (default: text); repeatable, each followed by its own --output",
    )
    scan.add_argument(
        "--output",
        "-o",
        action=_Output,
        type=Path,
        metavar="FILE",
        help="write the report of the --format before it to FILE instead of standard output",
    )
    scan.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="the findings that make the exit code 1: error (default), warning (errors and warnings) or never",
    )
    scan.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        help="report unknown keep-alives (KA002) as errors",
    )
    scan.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="report the findings recorded in FILE (keepalive-guard baseline create) as baselined, not "
        "as findings",
    )
    scan.add_argument(
        "--verbose", "-v", action="store_true", help="also list every target checked and everything skipped"
    )
    scan.set_defaults(handler=_scan, early_outputs=None)
    baseline = commands.add_parser(
        "baseline",
        help="record today's findings, so that scan --baseline reports only new ones",
        description="keepalive-guard baseline create PATH... -o .keepalive-guard-baseline.json",
    )
    baseline_commands = baseline.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = baseline_commands.add_parser(
        "create",
        help="scan PATH... and write the fingerprints of its findings to FILE",
        description="Scan PATH... as `scan` would and write the fingerprints of its findings to FILE; "
        "`scan --baseline FILE` then fails only on findings that are not in it. Fingerprints name the rule "
        "and the resources, not lines: they survive moving code around.",
    )
    _inputs(create)
    create.add_argument(
        "--output",
        "-o",
        type=Path,
        metavar="FILE",
        help="the baseline file to write (default: the configuration's baseline, else "
        ".keepalive-guard-baseline.json)",
    )
    create.set_defaults(handler=_baseline)
    servers = commands.add_parser(
        "servers",
        help="list the servers keepalive-guard knows, their keep-alive settings and defaults",
        description="The supported-servers table: how each server is recognised, the setting that decides "
        "its keep-alive, the setting's unit, its default and the source of that default.",
    )
    servers.add_argument(
        "--format", choices=("markdown", "json"), default="markdown", help="output format (default: markdown)"
    )
    servers.set_defaults(handler=_servers)
    rules = commands.add_parser("rules", help="list the rules, or show one rule's documentation")
    rules.add_argument("rule", nargs="?", metavar="ID", help="a rule id such as KA001")
    rules.set_defaults(handler=_rules_command)
    lint_rules = commands.add_parser(
        "cfn-lint-rules",
        help="print the directory of the cfn-lint rules: cfn-lint template.yaml --append-rules DIR",
    )
    lint_rules.set_defaults(handler=_cfn_lint_rules)
    return parser


def _error(message: str) -> int:
    print(f"keepalive-guard: {message}", file=sys.stderr)
    return EXIT_INCOMPLETE


def _settings(arguments: argparse.Namespace) -> tuple[Config, Options, LoadOptions] | str:
    """The configuration file and the command line, the command line winning; or what is wrong."""
    from policies import config
    from policies.cache import default_directory
    from policies.loaders import LoadOptions, available_cpus, repo_root_error
    from policies.rules import Options

    try:
        found = arguments.config or config.find(arguments.paths[0]) or config.find(Path.cwd())
        settings = config.load(found) if found is not None else config.Config()
    except config.ConfigError as error:
        return str(error)
    if arguments.repo_root is not None and (why := repo_root_error(arguments.repo_root)) is not None:
        return f"--repo-root {arguments.repo_root}: {why}"
    parameters = _parameters(arguments.parameters)
    if isinstance(parameters, str):
        return parameters
    options = Options(
        min_margin=_first(arguments.min_margin, settings.min_margin, 0.0),
        strict=_first(getattr(arguments, "strict", None), settings.strict, False),
        select=frozenset(_first(arguments.select, settings.select, ())),
        ignore=frozenset(_first(arguments.ignore, settings.ignore)),
    )
    load_options = LoadOptions(
        (*settings.var_files, *arguments.variables),
        (*settings.dockerfiles, *arguments.dockerfiles),
        arguments.repo_root,
        parameters,
        (*settings.excludes, *(config.Exclude(Path.cwd(), pattern) for pattern in arguments.exclude)),
        cache=default_directory() if arguments.cache else None,
        jobs=arguments.jobs or available_cpus(),
        prefilter=arguments.prefilter,
        max_file_bytes=_first(arguments.max_file_size, settings.max_file_bytes, 0),
    )
    return settings, options, load_options


def _first(*values: T | None) -> T:
    return next(value for value in values if value is not None)


def _scan(arguments: argparse.Namespace) -> int:
    from policies import baseline
    from policies.model import shown_path
    from policies.reporters import FORMATS, Report
    from policies.reporters.github import job_summary
    from policies.reporters.text import colour_for
    from policies.scan import scan

    reports = _reports(arguments)
    if isinstance(reports, str):
        return _error(reports)
    settings = _settings(arguments)
    if isinstance(settings, str):
        return _error(settings)
    config, options, load_options = settings
    baseline_file = arguments.baseline or config.baseline
    known = None
    if baseline_file is not None:
        try:
            known = baseline.read(baseline_file)
        except baseline.BaselineError as error:
            return _error(str(error))
    result = scan(arguments.paths, options, load_options)
    gone = 0
    if known is not None:
        result, gone = baseline.apply(result, known)
    fail_on = arguments.fail_on or config.fail_on or "error"
    context = Report(
        verbose=arguments.verbose,
        fail_on=fail_on,
        baseline=shown_path(baseline_file) if baseline_file is not None else None,
        gone=gone,
    )
    written = True
    for name, file in reports:
        document = FORMATS[name](result, replace(context, colour=file is None and colour_for(sys.stdout)))
        if file is None:
            sys.stdout.write(document)
        else:
            written &= _write(file, document)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary and any(name == "github" for name, _ in reports):
        written &= _write(Path(step_summary), job_summary(result, context), append=True)
    if result.failing(fail_on):
        return EXIT_FINDINGS
    return EXIT_INCOMPLETE if result.errors or not written else EXIT_CLEAN


def _write(file: Path, document: str, append: bool = False) -> bool:
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with file.open("a" if append else "w", encoding="utf-8") as stream:
            stream.write(document)
    except OSError as error:
        _error(f"cannot write {file}: {error.strerror or error}")
        return False
    return True


def _baseline(arguments: argparse.Namespace) -> int:
    from policies import baseline
    from policies.model import shown_path
    from policies.scan import scan

    settings = _settings(arguments)
    if isinstance(settings, str):
        return _error(settings)
    config, options, load_options = settings
    output = arguments.output or config.baseline or baseline.DEFAULT
    result = scan(arguments.paths, options, load_options)
    for error in result.errors:
        print(f"keepalive-guard: input error: {error}", file=sys.stderr)
    if not _write(output, baseline.create(result, output)):
        return EXIT_INCOMPLETE
    count = len(result.findings)
    print(
        f"keepalive-guard: wrote {count} finding{'' if count == 1 else 's'} to {shown_path(output)}"
        + (f" ({len(result.suppressed)} acknowledged ones are not in it)" if result.suppressed else ""),
        file=sys.stderr,
    )
    return EXIT_INCOMPLETE if result.errors else EXIT_CLEAN


def _parameters(given: list[Path | tuple[str, str]]) -> dict[str, tuple[str, Location]] | str:
    """CloudFormation parameter values in command-line order (later ones win), or why a file is bad."""
    from policies.model import Location

    values: dict[str, tuple[str, Location]] = {}
    for item in given:
        if isinstance(item, Path):
            from policies.loaders.cloudformation.template import read_parameters  # only with a file

            read = read_parameters(item)
            if isinstance(read, str):
                return f"--parameters {item}: {read}"
            values.update(read)
        else:
            name, value = item
            values[name] = (value, Location(f"--parameter {name}"))
    return values


def _cfn_lint_rules(arguments: argparse.Namespace) -> int:
    print(Path(__file__).parent / "cfn_lint_rules")
    return EXIT_CLEAN


def _servers(arguments: argparse.Namespace) -> int:
    import json

    from policies.servers import SERVERS, servers_table

    if arguments.format == "json":
        rows = [
            {"family": family.NAME, "recognised_by": family.RECOGNISED, **fact.__dict__}
            for family in SERVERS
            for fact in family.FACTS
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        print(servers_table())
    return EXIT_CLEAN


def _rules_command(arguments: argparse.Namespace) -> int:

    from policies.rules import RULES, documentation

    if arguments.rule is None:
        for rule in RULES:
            print(f"{rule.id}  {rule.severity.value:<7}  {rule.name}: {rule.summary}")
        return EXIT_CLEAN
    for rule in RULES:
        if rule.id.lower() == arguments.rule.lower():
            print(f"# {rule.id} {rule.name} ({rule.severity.value})\n")
            print(documentation(rule))
            return EXIT_CLEAN
    print(
        f"keepalive-guard: no rule {arguments.rule!r}; known: {', '.join(rule.id for rule in RULES)}",
        file=sys.stderr,
    )
    return EXIT_INCOMPLETE


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a report never fails on a console that cannot show "→"
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help(sys.stderr)
        return EXIT_INCOMPLETE
    try:
        code: int = arguments.handler(arguments)
        return code
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug must not print a traceback over a CI log
        print(
            f"keepalive-guard: internal error: {type(error).__name__}: {error}. "
            "Please report it with the input that caused it.",
            file=sys.stderr,
        )
        return EXIT_INCOMPLETE


if __name__ == "__main__":
    sys.exit(main())
