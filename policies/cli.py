"""The command line: `keepalive-guard scan PATH...`, `servers`, `rules [ID]`, `--version`.

Exit codes (SPEC.md): 1 when any error-severity finding; otherwise 2 when usage was wrong or an input
could not be analysed; otherwise 0. Heavy modules are imported only by the command that needs them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from policies import __version__

if TYPE_CHECKING:
    from policies.model import Location

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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keepalive-guard",
        description="Find load balancer keep-alive races and deregistration cuts (random 502s) before deploy.",
    )
    parser.add_argument("--version", action="version", version=f"keepalive-guard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    scan = commands.add_parser(
        "scan",
        help="scan Terraform configurations and plans",
        description="Scan Terraform directories, .tf files and plan JSON (terraform show -json tfplan).",
    )
    scan.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="a directory (searched recursively), a .tf file, a plan JSON file or a CloudFormation template",
    )
    scan.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    scan.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="write the report to FILE instead of stdout"
    )
    scan.add_argument("--strict", action="store_true", help="report unknown keep-alives (KA002) as errors")
    scan.add_argument(
        "--min-margin",
        type=_margin,
        default=0.0,
        metavar="SECONDS",
        help="KA001: keep-alive must exceed the idle timeout by more than this (default 0)",
    )
    # --var-file and --var share one list, so they apply in command-line order, as for terraform plan.
    scan.add_argument(
        "--var-file",
        action="append",
        dest="variables",
        type=Path,
        default=[],
        metavar="FILE",
        help="a Terraform .tfvars file for root modules (repeatable; later ones win)",
    )
    scan.add_argument(
        "--var",
        action="append",
        dest="variables",
        type=_variable,
        metavar="NAME=VALUE",
        help="a Terraform variable for root modules (repeatable; later ones win)",
    )
    # --parameters and --parameter share one list too: later values win.
    scan.add_argument(
        "--parameters",
        action="append",
        dest="parameters",
        type=Path,
        default=[],
        metavar="FILE",
        help="CloudFormation parameter values, a JSON file as the AWS CLI or CodePipeline takes it (repeatable)",
    )
    scan.add_argument(
        "--parameter",
        action="append",
        dest="parameters",
        type=_variable,
        metavar="NAME=VALUE",
        help="a CloudFormation parameter value (repeatable); parameters not given take their Default",
    )
    scan.add_argument(
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
    scan.add_argument(
        "--repo-root",
        type=Path,
        metavar="DIR",
        help="the directory the plan JSON was made in (its root module, after terraform init; default: "
        "the plan's own directory when it holds .tf files): findings in plans then point at the .tf file "
        "and line of each resource and attribute, and locals are followed; modules are found through the "
        "plan's module sources (local ones relative to their caller, others through "
        ".terraform/modules/modules.json)",
    )
    scan.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="the configuration file (default: the nearest .keepalive-guard.toml or pyproject.toml with "
        "[tool.keepalive-guard], from the first PATH up)",
    )
    scan.add_argument(
        "--verbose", "-v", action="store_true", help="also list every target checked and everything skipped"
    )
    scan.set_defaults(handler=_scan)
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
    rules.set_defaults(handler=_rules)
    lint_rules = commands.add_parser(
        "cfn-lint-rules",
        help="print the directory of the cfn-lint rules: cfn-lint template.yaml --append-rules DIR",
    )
    lint_rules.set_defaults(handler=_cfn_lint_rules)
    return parser


def _scan(arguments: argparse.Namespace) -> int:
    from policies import config
    from policies.loaders import LoadOptions
    from policies.loaders.plan_config import repo_root_error
    from policies.reporters import FORMATS
    from policies.rules import Options, Severity
    from policies.scan import scan

    try:
        found = arguments.config or config.find(arguments.paths[0])
        settings = config.load(found) if found is not None else config.Config()
    except config.ConfigError as error:
        print(f"keepalive-guard: {error}", file=sys.stderr)
        return EXIT_INCOMPLETE
    if arguments.repo_root is not None and (why := repo_root_error(arguments.repo_root)) is not None:
        print(f"keepalive-guard: --repo-root {arguments.repo_root}: {why}", file=sys.stderr)
        return EXIT_INCOMPLETE
    parameters = _parameters(arguments.parameters)
    if isinstance(parameters, str):
        print(f"keepalive-guard: {parameters}", file=sys.stderr)
        return EXIT_INCOMPLETE
    result = scan(
        arguments.paths,
        Options(min_margin=arguments.min_margin, strict=arguments.strict),
        LoadOptions(
            tuple(arguments.variables),
            (*settings.dockerfiles, *arguments.dockerfiles),
            arguments.repo_root,
            parameters,
        ),
    )
    report = FORMATS[arguments.format](result, arguments.verbose)
    if arguments.output is not None:
        try:
            arguments.output.write_text(report, encoding="utf-8")
        except OSError as error:
            print(
                f"keepalive-guard: cannot write {arguments.output}: {error.strerror or error}",
                file=sys.stderr,
            )
            return EXIT_INCOMPLETE
    else:
        sys.stdout.write(report)
    if result.count(Severity.ERROR):
        return EXIT_FINDINGS
    return EXIT_INCOMPLETE if result.errors else EXIT_CLEAN


def _parameters(given: list[Path | tuple[str, str]]) -> dict[str, tuple[str, Location]] | str:
    """CloudFormation parameter values in command-line order (later ones win), or why a file is bad."""
    from policies.loaders.cloudformation.template import read_parameters
    from policies.model import Location

    values: dict[str, tuple[str, Location]] = {}
    for item in given:
        if isinstance(item, Path):
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


def _rules(arguments: argparse.Namespace) -> int:
    import inspect

    from policies.rules import RULES

    if arguments.rule is None:
        for rule in RULES:
            print(f"{rule.id}  {rule.severity.value:<7}  {rule.name}: {rule.summary}")
        return EXIT_CLEAN
    for rule in RULES:
        if rule.id.lower() == arguments.rule.lower():
            print(f"# {rule.id} {rule.name} ({rule.severity.value})\n")
            print(inspect.getdoc(sys.modules[type(rule).__module__]) or "")
            return EXIT_CLEAN
    print(
        f"keepalive-guard: no rule {arguments.rule!r}; known: {', '.join(rule.id for rule in RULES)}",
        file=sys.stderr,
    )
    return EXIT_INCOMPLETE


def main(argv: Sequence[str] | None = None) -> int:
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
