"""Validation rules shared by config loading and command arguments.

Each ``check_*`` returns the normalized value or raises ``ValueError`` with the rule spelled out
(what is allowed, with an example). Callers wrap the message in a ConfigError or UsageError, so the
same rule reads the same everywhere. Nothing here talks to Google.
"""

from __future__ import annotations

import re
from typing import Any

SECRET_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
VERSION_ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,500}$")
PROJECT_ID_RE = re.compile(r"^(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
REGION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
RUN_SERVICE_RE = re.compile(r"^[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?$")
ACCOUNT_ID_RE = re.compile(r"^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$")
EMAIL_RE = re.compile(r"^[^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
API_RE = re.compile(r"^[a-z][a-z0-9-]*(?:\.googleapis\.com)?$")
LABEL_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE_RE = re.compile(r"^[a-z0-9_-]{0,63}$")
ROLE_RE = re.compile(
    r"^(?:roles/[A-Za-z0-9_.]+|(?:projects|organizations)/[a-z0-9:.-]+/roles/[A-Za-z0-9_.]+)$"
)
_DURATION_RE = re.compile(
    r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$"
)
HTTP_METHODS = ("POST", "GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS")
BODY_METHODS = ("POST", "PUT", "PATCH")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


def check_secret_id(value: str) -> str:
    if not isinstance(value, str) or not SECRET_ID_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid secret id: 1-255 letters, digits, '-' or '_' "
            "(e.g. 'gitlab-token')"
        )
    return value


def check_version(value: str) -> str:
    """A secret version: a positive number, 'latest', or an alias."""
    value = str(value)
    if value == "latest" or (value.isdigit() and int(value) > 0):
        return value
    if VERSION_ALIAS_RE.match(value) and value != "NEW":
        return value
    raise ValueError(
        f"{value!r} is not a valid version: a number >= 1, 'latest', or an alias "
        "(a letter, then up to 62 letters, digits, '-' or '_'; e.g. '3' or 'current')"
    )


def check_version_number(value: str) -> str:
    value = str(value)
    if value.isdigit() and int(value) > 0:
        return value
    raise ValueError(f"{value!r} is not a version number: use a number >= 1 (e.g. '3')")


def check_alias(value: str) -> str:
    if (
        not isinstance(value, str)
        or not VERSION_ALIAS_RE.match(value)
        or value in ("latest", "NEW")
    ):
        raise ValueError(
            f"{value!r} is not a valid version alias: start with a letter, then up to 62 "
            "letters, digits, '-' or '_', not 'latest' or 'NEW' (e.g. 'current')"
        )
    return value


def check_job_id(value: str) -> str:
    if not isinstance(value, str) or not JOB_ID_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid job id: 1-500 letters, digits, '-' or '_' "
            "(e.g. 'thoth-daily-sync')"
        )
    return value


def check_project(value: str) -> str:
    if not isinstance(value, str) or not PROJECT_ID_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid project id: 6-30 lowercase letters, digits or '-', "
            "starting with a letter and not ending with '-' (e.g. 'thoth-prod')"
        )
    return value


def check_region(value: str) -> str:
    if not isinstance(value, str) or not REGION_RE.match(value):
        raise ValueError(f"{value!r} is not a valid region (e.g. 'us-central1', 'europe-west1')")
    return value


def check_run_service(value: str) -> str:
    if not isinstance(value, str) or not RUN_SERVICE_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid Cloud Run service name: up to 49 lowercase letters, "
            "digits or '-', starting with a letter (e.g. 'thoth-mcp-server')"
        )
    return value


def check_service_account(value: str) -> str:
    """An account id (``thoth-scheduler``) or a full service account email."""
    if isinstance(value, str) and (ACCOUNT_ID_RE.match(value) or EMAIL_RE.match(value)):
        return value
    raise ValueError(
        f"{value!r} is not a service account: an account id of 6-30 lowercase letters, digits "
        "or '-' (e.g. 'thoth-scheduler') or an email (e.g. 'sa@my-project.iam.gserviceaccount.com')"
    )


def check_env_var(value: str) -> str:
    if not isinstance(value, str) or not ENV_VAR_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid environment variable name: letters, digits and '_', "
            "not starting with a digit (e.g. 'GITLAB_TOKEN')"
        )
    return value


def check_api(value: str) -> str:
    """An API name, short (``secretmanager``) or full (``secretmanager.googleapis.com``)."""
    if not isinstance(value, str) or not API_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid API name (e.g. 'secretmanager' or "
            "'secretmanager.googleapis.com')"
        )
    return value if value.endswith(".googleapis.com") else f"{value}.googleapis.com"


def check_cron(value: str) -> str:
    from croniter import croniter

    if not isinstance(value, str):
        raise ValueError("expected a cron expression string")
    fields = value.split()
    if len(fields) != 5 or not croniter.is_valid(value):
        raise ValueError(
            f"{value!r} is not a valid cron schedule: 5 fields 'minute hour day-of-month month "
            "day-of-week' (e.g. '0 2 * * *' for every day at 02:00)"
        )
    return " ".join(fields)


def check_time_zone(value: str) -> str:
    import zoneinfo

    if not isinstance(value, str) or not value:
        raise ValueError("expected an IANA time zone name (e.g. 'UTC', 'Europe/Berlin')")
    if value.lower() == "utc":
        return value
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{value!r} is not a known time zone: use an IANA name (e.g. 'UTC', "
            "'America/New_York', 'Europe/Berlin')"
        ) from None
    return value


def parse_duration(value: Any) -> float:
    """'320s', '5m', '1h30m', '2d' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (e.g. '320s', '5m', '1h30m')")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value!r} is not a duration: it must not be negative")
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        m = _DURATION_RE.match(text)
        if text and m and any(m.groupdict().values()):
            g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
            return g["d"] * 86400 + g["h"] * 3600 + g["m"] * 60 + g["s"]
        if text.isdigit():
            return float(text)
    raise ValueError(
        f"{value!r} is not a duration: a number with a unit s, m, h or d (e.g. '320s', '5m', "
        "'1h30m')"
    )


def format_duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds == int(seconds):
        s = int(seconds)
        if s and s % 3600 == 0:
            return f"{s // 3600}h"
        if s and s % 60 == 0 and s < 3600:
            return f"{s // 60}m"
        return f"{s}s"
    return f"{seconds:g}s"


def check_duration_range(value: Any, low: float, high: float) -> float:
    seconds = parse_duration(value)
    if not low <= seconds <= high:
        raise ValueError(
            f"{value!r} is out of range: must be between {format_duration(low)} and "
            f"{format_duration(high)}"
        )
    return seconds


def check_url_path(value: str) -> str:
    from urllib.parse import urlsplit

    bad = (
        not isinstance(value, str)
        or not value.startswith("/")
        or value.startswith("//")
        or any(c.isspace() or ord(c) < 32 for c in value)
        or "#" in value
    )
    if not bad:
        parts = urlsplit(value)
        bad = bool(parts.scheme or parts.netloc)
    if bad:
        raise ValueError(
            f"{value!r} is not a valid URL path: it must start with '/', with no spaces, scheme, "
            "host or fragment (e.g. '/sync')"
        )
    return value


def check_http_method(value: str) -> str:
    if not isinstance(value, str) or value.upper() not in HTTP_METHODS:
        raise ValueError(f"{value!r} is not an HTTP method: one of {', '.join(HTTP_METHODS)}")
    return value.upper()


def check_member(value: str, *, allow_public: bool = False) -> str:
    """An IAM principal: serviceAccount:, user:, group:, domain: (public ones only on request)."""
    if value in PUBLIC_MEMBERS:
        if allow_public:
            return value
        raise ValueError(
            f"{value!r} would make this resource public: refused (pass --allow-public if you "
            "really mean it)"
        )
    kind, _, rest = value.partition(":") if isinstance(value, str) else ("", "", "")
    if kind in ("serviceAccount", "user", "group") and EMAIL_RE.match(rest):
        return value
    if kind == "domain" and re.match(r"^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$", rest):
        return value
    raise ValueError(
        f"{value!r} is not a valid member: one of serviceAccount:EMAIL, user:EMAIL, "
        "group:EMAIL, domain:DOMAIN (e.g. 'serviceAccount:thoth-mcp-sa@my-project."
        "iam.gserviceaccount.com')"
    )


def check_role(value: str) -> str:
    if not isinstance(value, str) or not ROLE_RE.match(value):
        raise ValueError(
            f"{value!r} is not a valid role: 'roles/NAME' or a custom role "
            "'projects/PROJECT/roles/NAME' (e.g. 'roles/secretmanager.secretAccessor')"
        )
    return value


def check_labels(pairs: list[str] | dict[str, str]) -> dict[str, str]:
    """KEY=VALUE pairs (or a dict) -> labels, with Secret Manager's label rules."""
    items = pairs.items() if isinstance(pairs, dict) else []
    if not isinstance(pairs, dict):
        parsed = []
        for raw in pairs:
            for part in str(raw).split(","):
                if not part:
                    continue
                if "=" not in part:
                    raise ValueError(f"{part!r} is not a label: use KEY=VALUE (e.g. 'team=docs')")
                k, _, v = part.partition("=")
                parsed.append((k.strip(), v.strip()))
        items = parsed
    labels: dict[str, str] = {}
    for k, v in items:
        if not LABEL_KEY_RE.match(k):
            raise ValueError(
                f"label key {k!r} is invalid: start with a lowercase letter, then up to 62 "
                "lowercase letters, digits, '_' or '-'"
            )
        if not LABEL_VALUE_RE.match(str(v)):
            raise ValueError(
                f"label value {v!r} is invalid: up to 63 lowercase letters, digits, '_' or '-'"
            )
        labels[k] = str(v)
    if len(labels) > 64:
        raise ValueError("too many labels: at most 64")
    return labels
