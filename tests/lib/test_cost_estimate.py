"""`cost.estimate` as a library: list prices applied to the configuration alone (no Google call),
every figure a typed line, every assumption stated."""

from __future__ import annotations

import pytest

from thothctl.config import load_config
from thothctl.cost import PRICES_AS_OF, estimate, runs_per_month


@pytest.fixture
def config(tmp_path):
    """The built-in setup: two jobs (daily, hourly) and three secrets."""
    return load_config(environ={}, emulator=True, cwd=tmp_path)


def test_runs_are_counted_from_the_cron_schedules():
    assert runs_per_month("0 2 * * *", "UTC") == 30
    assert runs_per_month("0 * * * *", "UTC") == 720
    assert runs_per_month("*/15 9-17 * * 1-5", "Europe/Berlin") == 36 * 22


def test_the_built_in_setup_fits_the_free_tier(config):
    est = estimate(config)
    assert est.total == 0
    assert est.runs_per_month == {"daily-sync": 30, "hourly-incremental-sync": 720}
    lines = {line.item: line for line in est.lines}
    versions = lines["Secret Manager active versions"]
    assert (versions.quantity, versions.free, versions.cost) == (6, 6, 0)
    assert versions.list_price == "$0.06/version/month"
    ops = lines["Secret Manager access operations"]
    assert ops.quantity == (30 + 720) * 3 and ops.list_price == "$0.03/10k ops"
    assert lines["Cloud Scheduler jobs"].list_price == "$0.10/job/month"
    assert est.to_json()["prices_as_of"] == PRICES_AS_OF


def test_a_billing_account_that_used_its_free_tier_pays_for_every_unit(config):
    est = estimate(config, other_jobs=3, other_versions=6, free_tier=True)
    lines = {line.item: line for line in est.lines}
    assert lines["Cloud Scheduler jobs"].cost == pytest.approx(0.20)
    assert lines["Secret Manager active versions"].cost == pytest.approx(0.36)
    assert any("shared with 3 other jobs" in a for a in est.assumptions)
    assert estimate(config, free_tier=False).total > est.total
