__version__ = "0.1.0"

# Which findings fail the check (`--fail-on`, the configuration's `fail_on`; `policies.scan.Result.failing`).
FAIL_ON = ("error", "warning", "never")

# Where the project lives: the SARIF rules' help links and the GitHub Action's `uses:` point here.
HOME = "https://github.com/keepalive-guard/keepalive-guard"


def rule_url(rule: str) -> str:
    """The documentation page of a rule (docs/rules/<ID>.md, generated from the rule's docstring)."""
    return f"{HOME}/blob/main/docs/rules/{rule}.md"
