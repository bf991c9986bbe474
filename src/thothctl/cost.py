"""Estimated monthly cost of the configured setup, from Google's published list prices.

Offline by default: it reads the configuration only (job schedules, secrets) and states every
assumption. The figures it returns are data; the CLI renders them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thothctl.config import Config

# Published list prices (USD), read from the pricing pages on the date below.
PRICES_AS_OF = "2026-11-28"
PRICE_SOURCES = (
    "https://cloud.google.com/scheduler/pricing",
    "https://cloud.google.com/secret-manager/pricing",
)
SCHEDULER_JOB_PER_MONTH = 0.10  # per job per 31 days; paused jobs count
SCHEDULER_FREE_JOBS = 3  # per billing account
SECRET_VERSION_PER_MONTH = 0.06  # per active (enabled or disabled) version per location
SECRET_FREE_VERSIONS = 6  # per billing account
ACCESS_PER_10K = 0.03
ACCESS_FREE_OPS = 10_000  # per billing account
DAYS_IN_MONTH = 30


@dataclass(frozen=True)
class CostLine:
    item: str
    quantity: float
    unit: str
    unit_price: float
    free: float
    cost: float

    @property
    def list_price(self) -> str:
        """The unit price as the pricing page states it: "$0.06/version/month", "$0.03/10k ops"."""
        if self.unit == "operation":
            return f"${self.unit_price * 10_000:.2f}/10k ops"
        return f"${self.unit_price:.2f}/{self.unit}/month"

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "quantity": self.quantity,
            "unit": self.unit,
            "unit_price_usd": self.unit_price,
            "free_quantity": self.free,
            "monthly_usd": round(self.cost, 4),
        }


@dataclass
class CostEstimate:
    lines: list[CostLine]
    assumptions: list[str]
    runs_per_month: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(line.cost for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": "USD",
            "monthly_total_usd": round(self.total, 4),
            "lines": [line.to_json() for line in self.lines],
            "runs_per_month": self.runs_per_month,
            "assumptions": self.assumptions,
            "prices_as_of": PRICES_AS_OF,
            "price_sources": list(PRICE_SOURCES),
        }


def runs_per_month(schedule: str, time_zone: str, *, start: dt.datetime | None = None) -> int:
    """How many times a cron schedule fires in 30 days (counted, not guessed)."""
    import zoneinfo

    from croniter import croniter

    tz = dt.UTC if time_zone.lower() == "utc" else zoneinfo.ZoneInfo(time_zone)
    begin = (start or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).astimezone(tz)
    end = begin + dt.timedelta(days=DAYS_IN_MONTH)
    it = croniter(schedule, begin - dt.timedelta(seconds=1))
    count = 0
    while it.get_next(dt.datetime) < end:
        count += 1
        if count > 50_000:  # every minute is 43,200: a bound, not a limit anyone meets
            break
    return count


def _billable(quantity: float, free: float) -> float:
    return max(0.0, quantity - free)


def estimate(
    cfg: Config,
    *,
    versions_per_secret: int = 2,
    other_jobs: int = 0,
    other_versions: int = 0,
    other_access_ops: int = 0,
    free_tier: bool = True,
) -> CostEstimate:
    """The monthly cost of the configured jobs and secrets, with every assumption stated.

    ``other_*`` are what else the billing account uses (it shares the free tier)."""
    jobs = len(cfg.jobs)
    runs = {job.name: runs_per_month(job.schedule, job.time_zone) for job in cfg.jobs.values()}
    total_runs = sum(runs.values())
    secrets = len(cfg.secrets)
    active_versions = secrets * versions_per_secret
    env_secrets = secrets  # each configured secret is an env var of the service
    access_ops = total_runs * env_secrets

    free_jobs = max(0, SCHEDULER_FREE_JOBS - other_jobs) if free_tier else 0
    free_versions = max(0, SECRET_FREE_VERSIONS - other_versions) if free_tier else 0
    free_ops = max(0, ACCESS_FREE_OPS - other_access_ops) if free_tier else 0

    lines = [
        CostLine(
            "Cloud Scheduler jobs",
            jobs,
            "job",
            SCHEDULER_JOB_PER_MONTH,
            min(jobs, free_jobs),
            _billable(jobs, free_jobs) * SCHEDULER_JOB_PER_MONTH,
        ),
        CostLine(
            "Secret Manager active versions",
            active_versions,
            "version",
            SECRET_VERSION_PER_MONTH,
            min(active_versions, free_versions),
            _billable(active_versions, free_versions) * SECRET_VERSION_PER_MONTH,
        ),
        CostLine(
            "Secret Manager access operations",
            access_ops,
            "operation",
            ACCESS_PER_10K / 10_000,
            min(access_ops, free_ops),
            _billable(access_ops, free_ops) / 10_000 * ACCESS_PER_10K,
        ),
    ]
    run_text = ", ".join(f"{name} {n}" for name, n in runs.items())
    assumptions = [
        f"a month is {DAYS_IN_MONTH} days; runs counted from the cron schedules: {run_text}",
        f"{versions_per_secret} active (enabled or disabled) versions per secret, as `secrets rotate` "
        "keeps by default; destroyed versions are free",
        "automatic replication, billed as a single location",
        f"each run starts a Cloud Run instance that resolves its {env_secrets} env-var secrets once "
        "(instances scale to zero between runs); warm instances read fewer",
        (
            f"free tier per billing account: {SCHEDULER_FREE_JOBS} jobs, {SECRET_FREE_VERSIONS} "
            f"versions, {ACCESS_FREE_OPS:,} access operations, shared with {other_jobs} other jobs, "
            f"{other_versions} other versions and {other_access_ops:,} other operations"
            if free_tier
            else "free tier not applied"
        ),
        "not included: Cloud Run compute and requests, Cloud Logging beyond its free allotment, "
        "rotation notifications (no Pub/Sub topics are configured)",
    ]
    return CostEstimate(lines=lines, assumptions=assumptions, runs_per_month=runs)
