"""Generate the documentation that must never drift from the code.

`python -m policies.docs` rewrites the README's supported-servers and rules tables (between marker
comments) from the server catalog's FACTS and the rule registry, and `docs/rules/<ID>.md` from each
rule's docstring. `python -m policies.docs --check` fails when they are out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from policies.rules import RULES, Rule, documentation
from policies.servers import servers_table

ROOT = Path(__file__).resolve().parent.parent


def rules_table() -> str:
    rows = ["| id | name | severity | reports when |", "|---|---|---|---|"]
    for rule in RULES:
        summary = rule.summary
        rows.append(
            f"| [{rule.id}](docs/rules/{rule.id}.md) | {rule.name} | {rule.severity.value} | {summary} |"
        )
    return "\n".join(rows)


def rule_page(rule: Rule) -> str:
    header = f"# {rule.id} {rule.name}\n\nDefault severity: {rule.severity.value}.\n\n"
    return header + documentation(rule) + "\n"


def _replace(text: str, marker: str, content: str) -> str:
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    before, _, rest = text.partition(start)
    _, _, after = rest.partition(end)
    return f"{before}{start}\n{content}\n{end}{after}"


def expected() -> dict[Path, str]:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    text = _replace(_replace(text, "servers", servers_table()), "rules", rules_table())
    pages = {ROOT / "docs" / "rules" / f"{rule.id}.md": rule_page(rule) for rule in RULES}
    return {readme: text, **pages}


def main(argv: list[str]) -> int:
    stale = [
        path
        for path, content in expected().items()
        if not path.exists() or path.read_text(encoding="utf-8") != content
    ]
    if "--check" in argv:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run python -m policies.docs", file=sys.stderr)
        return 1 if stale else 0
    for path, content in expected().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
