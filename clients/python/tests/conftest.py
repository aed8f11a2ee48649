"""Shared fixtures: one local gantry serve (GANTRY_BIN, or gantry on PATH) for the whole run."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Iterator

import pytest

import gantry

ROOT = Path(__file__).resolve().parents[3]
TRACES = ROOT / "testdata" / "alfworld" / "reference" / "classic.jsonl.gz"


@pytest.fixture(scope="session")
def client() -> Iterator[gantry.Client]:
    with gantry.Client(serve_args=["--max-sessions", "100000"]) as c:
        yield c


def traces(episode: str = "expert", limit: int = 0) -> list[dict[str, Any]]:
    """Golden traces of the reference engine (testdata/alfworld/reference): game, commands, observations."""
    out = []
    with gzip.open(TRACES, "rt") as f:
        for line in f:
            d = json.loads(line)
            if d["episode"] == episode:
                out.append(d)
                if limit and len(out) == limit:
                    break
    return out
