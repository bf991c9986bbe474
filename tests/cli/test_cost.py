"""`thothctl cost`: list prices applied to the configured setup, assumptions stated."""

from __future__ import annotations

import pytest


def test_default_setup_fits_the_free_tier(cli):
    result = cli("cost", "-o", "json")
    assert result.exit_code == 0, result.output
    data = result.json()
    assert data["monthly_total_usd"] == 0
    lines = {line["item"]: line for line in data["lines"]}
    assert lines["Cloud Scheduler jobs"]["quantity"] == 2
    assert lines["Secret Manager active versions"]["quantity"] == 6  # 3 secrets x 2 kept versions
    assert lines["Secret Manager access operations"]["quantity"] == (30 + 720) * 3
    assert data["runs_per_month"] == {"daily-sync": 30, "hourly-incremental-sync": 720}
    assert data["prices_as_of"] and data["price_sources"]
    assert any("free tier" in a for a in data["assumptions"])


def test_sharing_the_free_tier_makes_it_cost_something(cli):
    data = cli(
        "cost",
        "--other-jobs",
        "3",
        "--other-versions",
        "6",
        "--other-access-ops",
        "10000",
        "-o",
        "json",
    ).json()
    lines = {line["item"]: line["monthly_usd"] for line in data["lines"]}
    assert lines["Cloud Scheduler jobs"] == pytest.approx(0.20)
    assert lines["Secret Manager active versions"] == pytest.approx(0.36)
    assert lines["Secret Manager access operations"] == pytest.approx(
        2250 / 10_000 * 0.03, abs=1e-4
    )
    assert data["monthly_total_usd"] == pytest.approx(0.20 + 0.36 + 0.00675, abs=1e-3)


def test_a_busier_schedule_from_the_config_file_costs_more(cli, tmp_path):
    (tmp_path / "thothctl.toml").write_text(
        '[jobs.hourly-incremental-sync]\nschedule = "*/5 * * * *"\n'
    )
    data = cli("cost", "--no-free-tier", "-o", "json").json()
    ops = {line["item"]: line for line in data["lines"]}["Secret Manager access operations"]
    assert ops["quantity"] == (30 + 8640) * 3
    assert ops["free_quantity"] == 0
    assert data["monthly_total_usd"] > 0.5


def test_human_output_states_assumptions_and_the_price_date(cli):
    result = cli("cost")
    assert result.exit_code == 0
    assert "Assumptions (list prices as of" in result.stdout
    assert "https://cloud.google.com/secret-manager/pricing" in result.stdout


def test_bad_numbers_exit_2(cli):
    result = cli("cost", "--versions-per-secret", "0")
    assert result.exit_code == 2
