"""The README's main job: the demo against the embedded fake server."""

from __future__ import annotations

import json
import re

import pytest

from soap_async.__main__ import main


def test_demo_creates_every_customer_once_despite_faults(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["demo", "--customers", "60", "--concurrency", "16", "--fault-rate", "0.3", "--json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["created"] == 60
    assert report["failed"] == 0
    assert report["duplicates_on_server"] == 0
    assert sum(report["faults_injected"].values()) > 0
    assert report["stored_on_server"] == 60
    # Every fault cost at least one more request; lost answers were recovered.
    assert report["http_requests"] >= 60 + sum(report["faults_injected"].values())
    assert report["faults_injected"]["drop_after"] >= report["recovered"] > 0
    # One request per customer, one lookup per recovered customer, the rest are retries.
    assert report["retried"] >= report["recovered"]
    assert report["http_requests"] >= 60 + report["retried"] + report["recovered"]


def test_demo_human_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--customers", "20", "--fault-rate", "0"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"created\s+20\b", out)
    assert re.search(r"duplicates on server\s+0\b", out)


def test_demo_refuses_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--customers", "0"]) == 2
    assert "--customers" in capsys.readouterr().err
    assert main(["demo", "--fault-rate", "1"]) == 2
