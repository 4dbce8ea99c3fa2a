"""A scan never opens a network connection, never runs a program, and never executes, imports or writes
a file of the tree it scans, whatever the tree holds: Python files that would run on import
(`conftest.py`, `setup.py`, a gunicorn configuration), `.terraformrc`, an `external` data source,
remote module sources, `templatefile()` calls, a `cdk.json` app, a CloudFormation stack nested from a URL.

The scan runs in a child process with an audit hook (PEP 578) that sees every such operation Python
performs, however it is reached; patching `socket` and `subprocess` would miss `os.system`, `exec` and
imports. The hook records what it sees and blocks it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import service_tf, write_tree

# Runs in the child: the hook records, and refuses by raising, each operation the scan must not do.
DRIVER = textwrap.dedent(
    """
    import json, os, sys

    tree = os.path.realpath(sys.argv[1])
    seen = []

    def inside(path):
        if not isinstance(path, (str, bytes)):
            return False
        resolved = os.path.realpath(os.fsdecode(path))
        return resolved == tree or resolved.startswith(tree + os.sep)

    def hook(event, args):
        if event.startswith(("socket.", "urllib.")) and event != "socket.__new__":
            why = "network"
        elif event.startswith(("subprocess.", "os.exec", "os.posix_spawn", "os.spawn", "os.system")):
            why = "runs a program"
        elif event == "exec" and inside(getattr(args[0], "co_filename", None)):
            why = "executes code from the tree"
        elif event == "compile" and inside(args[1] if len(args) > 1 else None):
            why = "compiles code from the tree"
        elif event == "import" and any(inside(path) for path in args[2] or ()):
            why = "imports from the tree"
        elif event == "open" and inside(args[0]) and any(c in str(args[1] or "r") for c in "wax+"):
            why = "writes into the tree"
        elif event == "ctypes.dlopen" and inside(args[0]):
            why = "loads a library from the tree"
        else:
            return
        seen.append([why, event, repr(args)[:160]])
        raise PermissionError(f"blocked by the test: {event}")

    sys.addaudithook(hook)
    from policies.cli import main

    code = main(["scan", "--format", "json", "--output", sys.argv[2], *sys.argv[3:], tree])
    print(json.dumps({"code": code, "seen": seen}))
    """
)

EVIL = "import os, socket\nopen(os.path.join(os.path.dirname(__file__), 'PWNED'), 'w').close()\n"
GUNICORN_CONF = EVIL + "keepalive = int(os.environ.get('KA', '2'))\nworker_class = 'gthread'\n"
DEFINITIONS = json.dumps(
    [
        {
            "name": "app",
            "image": "shop/web:1",
            "command": ["gunicorn", "-c", "/app/gunicorn.conf.py", "app:app"],
        }
    ]
)


def hostile_tree(root: Path) -> Path:
    tf = service_tf(command=["gunicorn", "app:app"], image="shop/web:1").replace(
        "container_definitions = jsonencode([",
        'container_definitions = templatefile("${path.module}/defs.json.tpl", {})\n  unused = jsonencode([',
    )
    more = """
data "external" "evil" {
  program = ["python3", "${path.module}/evil.py"]
}

module "remote" {
  source = "git::https://example.com/evil.git"
}

module "registry" {
  source  = "evil/lb/aws"
  version = "1.0.0"
}

locals {
  payload = file("${path.module}/setup.py")
  rendered = templatefile("${path.module}/setup.py", {})
}

provider "aws" {
  region = "eu-west-1"
}
"""
    stack = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Nested": {
                "Type": "AWS::CloudFormation::Stack",
                "Properties": {"TemplateURL": "https://evil.example.com/stack.yaml"},
            },
            "Macro": {"Type": "AWS::SNS::Topic", "Properties": {"Fn::Transform": {"Name": "Evil"}}},
        },
    }
    return write_tree(
        root,
        {
            "infra/main.tf": tf + more,
            "infra/defs.json.tpl": DEFINITIONS,
            "infra/evil.py": EVIL,
            "infra/.terraformrc": 'provider_installation {\n  network_mirror {\n    url = "https://evil.example.com/"\n  }\n}\n',
            "infra/terraform.rc": 'credentials "app.terraform.io" {\n  token = "x"\n}\n',
            "infra/stack.json": json.dumps(stack),
            "app/Dockerfile": "FROM python:3.12\nCOPY . /app\nCMD gunicorn -c /app/gunicorn.conf.py app:app\n",
            "app/gunicorn.conf.py": GUNICORN_CONF,
            "app/conftest.py": EVIL,
            "app/setup.py": EVIL,
            "app/sitecustomize.py": EVIL,
            "app/app.py": EVIL,
            "app/__init__.py": EVIL,
            "app/package.json": '{"scripts": {"preinstall": "node evil.js", "start": "node server.js"}}',
            "app/cdk.json": '{"app": "python3 evil.py"}',
            "app/next.config.js": "require('child_process').execSync('touch PWNED')\n",
            "infra/setup.py": EVIL,
        },
    )


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_scan_of_a_hostile_tree_runs_nothing_and_connects_nowhere(tmp_path: Path, jobs: str) -> None:
    tree = hostile_tree(tmp_path / "repo")
    report = tmp_path / "report.json"
    environment = {**os.environ, "KEEPALIVE_GUARD_CACHE_DIR": str(tmp_path / "cache")}
    environment.pop("PYTHONPATH", None)
    arguments = ["--dockerfile", f"shop/web={tree / 'app'}", "--jobs", jobs, "--no-prefilter"]
    for _ in range(2):  # the first scan fills the cache, the second reads it back
        child = subprocess.run(
            [sys.executable, "-c", DRIVER, str(tree), str(report), *arguments],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=environment,
            timeout=300,
        )
        assert "Traceback" not in child.stderr, child.stderr
        outcome = json.loads(child.stdout.splitlines()[-1])
        assert outcome["seen"] == []
        assert not list(tree.rglob("PWNED"))
        document = json.loads(report.read_text())
        # the scan did read the tree: the gunicorn configuration was understood without running it, and
        # the registry module was reported as not downloaded, not fetched
        ka001, ka002 = document["findings"]
        assert ka001["rule"] == "KA001" and "app/gunicorn.conf.py:3" in ka001["message"], ka001
        assert (
            ka002["rule"] == "KA002" and 'source "evil/lb/aws" is not available locally' in ka002["message"]
        )
        assert outcome["code"] == 1


def test_the_hook_sees_what_it_must_block(tmp_path: Path) -> None:
    """The test above can fail: the same driver reports a scan that imports from the tree."""
    tree = write_tree(tmp_path / "repo", {"main.tf": service_tf(command=["uvicorn", "app:app"])})
    write_tree(tree, {"evil.py": EVIL})
    driver = DRIVER.replace(
        "from policies.cli import main",
        "sys.path.insert(0, tree)\nimport evil\nfrom policies.cli import main",
    )
    child = subprocess.run(
        [sys.executable, "-c", driver, str(tree), str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "PermissionError: blocked by the test" in child.stderr
    assert not (tree / "PWNED").exists()
