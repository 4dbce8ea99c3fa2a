from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the test from inside tmp_path, so reported paths are short and relative."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
