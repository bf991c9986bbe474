"""Validation rules shared by config loading and command arguments.

Each ``check_*`` returns the normalized value or raises ``ValueError`` with the rule spelled out
(what is allowed, with an example). Callers wrap the message in a ConfigError or UsageError, so the
same rule reads the same everywhere. Nothing here talks to Google.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

# Every pattern is matched whole with ``fullmatch`` (``$`` also matches before a final newline),
# and every class is spelled out in ASCII: no control character, Unicode digit or space can pass.
SECRET_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,255}")
VERSION_ALIAS_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
VERSION_NUMBER_RE = re.compile(r"[0-9]{1,18}")
JOB_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,500}")
PROJECT_ID_RE = re.compile(r"(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")
REGION_RE = re.compile(r"[a-z]+-[a-z]+[0-9]+")
RUN_SERVICE_RE = re.compile(r"[a-z](?:[-a-z0-9]{0,47}[a-z0-9])?")
ACCOUNT_ID_RE = re.compile(r"[a-z](?:[-a-z0-9]{4,28}[a-z0-9])")
DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
DOMAIN_RE = re.compile(DOMAIN)
EMAIL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@" + DOMAIN)
SERVICE_ACCOUNT_EMAIL_RE = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?@(?:[a-z0-9.-]+\.)?gserviceaccount\.com"
)
ENV_VAR_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
API_RE = re.compile(r"[a-z][a-z0-9-]*(?:\.googleapis\.com)?")
LABEL_KEY_RE = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE_RE = re.compile(r"[a-z0-9_-]{0,63}")
ROLE_RE = re.compile(
    r"roles/[A-Za-z0-9_.]+|(?:projects|organizations)/[a-z0-9:.-]+/roles/[A-Za-z0-9_.]+"
)
HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}")
HEADER_VALUE_RE = re.compile(r"[\t\x20-\x7e]*")
_DURATION_RE = re.compile(
    r"(?:(?P<d>[0-9]+)d)?(?:(?P<h>[0-9]+)h)?(?:(?P<m>[0-9]+)m)?(?:(?P<s>[0-9]+(?:\.[0-9]+)?)s)?"
)
# The longest duration a google.protobuf.Duration carries (10,000 years), in seconds.
MAX_DURATION = 315_576_000_000
HTTP_METHODS = ("POST", "GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS")
BODY_METHODS = ("POST", "PUT", "PATCH")
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")
# domain:D grants every account of D; for Google's consumer domains that is anyone with Gmail.
CONSUMER_DOMAINS = ("gmail.com", "googlemail.com")
# Headers Cloud Scheduler sets, computes or drops itself (HttpTarget.headers): a job that sets
# one would be shown as changed on every apply.
SCHEDULER_HEADERS = (
    "host",
    "content-length",
    "user-agent",
    "x-cloudscheduler",
    "x-cloudscheduler-jobname",
    "x-cloudscheduler-scheduletime",
)
SCHEDULER_HEADER_PREFIXES = ("x-google-", "x-appengine-")
MAX_HEADERS_SIZE = 80 * 1024
MAX_SECRET_BYTES = 65536  # Secret Manager's payload limit
# Names Cloud Run sets in every container: a secret may not use one as its env var.
RESERVED_ENV_VARS = ("PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION")


def show(value: Any, limit: int = 60) -> str:
    """A value for an error message: its repr (control characters escaped, so the message stays
    one line), cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _whole(pattern: re.Pattern[str], value: Any) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def control_character(text: str) -> str | None:
    """The first control or invisible separator character in ``text`` (None if none)."""
    return next((c for c in text if not c.isprintable() and c != " "), None)


def check_secret_id(value: str) -> str:
    if not _whole(SECRET_ID_RE, value):
        raise ValueError(
            f"{show(value)} is not a valid secret id: 1-255 letters, digits, '-' or '_' "
            "(e.g. 'gitlab-token')"
        )
    return value


def _version_number(value: Any) -> str | None:
    """A positive version number in ASCII digits, normalized ('03' -> '3'); else None."""
    if _whole(VERSION_NUMBER_RE, value) and int(value) > 0:
        return str(int(value))
    return None


def check_version(value: str) -> str:
    """A secret version: a positive number, 'latest', or an alias."""
    number = _version_number(value)
    if number is not None or value == "latest":
        return number or value
    if _whole(VERSION_ALIAS_RE, value) and value != "NEW":
        return value
    raise ValueError(
        f"{show(value)} is not a valid version: a number >= 1, 'latest', or an alias "
        "(a letter, then up to 62 letters, digits, '-' or '_'; e.g. '3' or 'current')"
    )


def check_version_number(value: str) -> str:
    number = _version_number(value)
    if number is None:
        raise ValueError(f"{show(value)} is not a version number: use a number >= 1 (e.g. '3')")
    return number


def check_alias(value: str) -> str:
    if not _whole(VERSION_ALIAS_RE, value) or value in ("latest", "NEW"):
        raise ValueError(
            f"{show(value)} is not a valid version alias: start with a letter, then up to 62 "
            "letters, digits, '-' or '_', not 'latest' or 'NEW' (e.g. 'current')"
        )
    return value


def check_job_id(value: str) -> str:
    if not _whole(JOB_ID_RE, value):
        raise ValueError(
            f"{show(value)} is not a valid job id: 1-500 letters, digits, '-' or '_' "
            "(e.g. 'thoth-daily-sync')"
        )
    return value


def check_project(value: str) -> str:
    if not _whole(PROJECT_ID_RE, value):
        raise ValueError(
            f"{show(value)} is not a valid project id: 6-30 lowercase letters, digits or '-', "
            "starting with a letter and not ending with '-' (e.g. 'thoth-prod')"
        )
    return value


def check_region(value: str) -> str:
    if not _whole(REGION_RE, value):
        raise ValueError(
            f"{show(value)} is not a valid region (e.g. 'us-central1', 'europe-west1')"
        )
    return value


def check_run_service(value: str) -> str:
    if not _whole(RUN_SERVICE_RE, value):
        raise ValueError(
            f"{show(value)} is not a valid Cloud Run service name: up to 49 lowercase letters, "
            "digits or '-', starting with a letter (e.g. 'thoth-mcp-server')"
        )
    return value


def check_service_account(value: str) -> str:
    """An account id (``thoth-scheduler``) or a service account's email."""
    if _whole(ACCOUNT_ID_RE, value) or _whole(SERVICE_ACCOUNT_EMAIL_RE, value):
        return value
    raise ValueError(
        f"{show(value)} is not a service account: an account id of 6-30 lowercase letters, "
        "digits or '-' (e.g. 'thoth-scheduler') or a service account email ending in "
        "gserviceaccount.com (e.g. 'sa@my-project.iam.gserviceaccount.com')"
    )


def check_env_var(value: str) -> str:
    if not _whole(ENV_VAR_RE, value):
        raise ValueError(
            f"{show(value)} is not a valid environment variable name: letters, digits and '_', "
            "not starting with a digit (e.g. 'GITLAB_TOKEN')"
        )
    if value in RESERVED_ENV_VARS:
        raise ValueError(
            f"{value!r} is set by Cloud Run in every container and cannot hold a secret: "
            f"use another name (reserved: {', '.join(RESERVED_ENV_VARS)})"
        )
    return value


HOST_PORT_RE = re.compile(
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})"
)


def check_host_port(value: str) -> str:
    """An emulator address: HOST:PORT (a name, an IPv4 address or a bracketed IPv6 one, and a
    port 1-65535), without a scheme, path or spaces."""
    m = HOST_PORT_RE.fullmatch(value) if isinstance(value, str) else None
    if m is None or not 1 <= int(m["port"]) <= 65535:
        raise ValueError(
            f"{show(value)} is not HOST:PORT: a host name or address and a port 1-65535, no "
            "scheme or spaces (e.g. '127.0.0.1:8085' or '[::1]:8085')"
        )
    return value


def check_service_account_email(value: str) -> str:
    if not _whole(SERVICE_ACCOUNT_EMAIL_RE, value):
        raise ValueError(
            f"{show(value)} is not a service account email (e.g. "
            "'deployer@my-project.iam.gserviceaccount.com')"
        )
    return value


def check_api(value: str) -> str:
    """An API name, short (``secretmanager``) or full (``secretmanager.googleapis.com``)."""
    if not _whole(API_RE, value):
        raise ValueError(
            f"{show(value)} is not a valid API name (e.g. 'secretmanager' or "
            "'secretmanager.googleapis.com')"
        )
    return value if value.endswith(".googleapis.com") else f"{value}.googleapis.com"


def check_cron(value: str) -> str:
    """Cloud Scheduler's unix-cron (five fields; documented values only) that fires at least
    once; returns it with single spaces. The grammar lives in :mod:`thothctl.schedule`."""
    from thothctl.schedule import parse_cron

    if not isinstance(value, str):
        raise ValueError("expected a cron expression string")
    return parse_cron(value).text


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names this machine knows (the OS database, else tzdata), without the
    database's own files that are not zones (localtime, posixrules, Factory)."""
    import zoneinfo

    return frozenset(zoneinfo.available_timezones()) - {"localtime", "posixrules", "Factory"}


def check_time_zone(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("expected an IANA time zone name (e.g. 'UTC', 'Europe/Berlin')")
    if value.lower() == "utc":
        return value
    known = time_zones()
    if not known:
        raise ValueError(
            f"cannot check time zone {show(value)}: this machine has no time zone database "
            "(install the tzdata package)"
        )
    if value not in known:
        raise ValueError(
            f"{show(value)} is not a known time zone: use an IANA name (case-sensitive, without "
            "posix/ or right/, not 'localtime'; e.g. 'UTC', 'America/New_York', 'Europe/Berlin')"
        )
    return value


def _not_a_duration(value: Any, why: str = "") -> ValueError:
    return ValueError(
        f"{show(value)} is not a duration{why}: a number with a unit s, m, h or d "
        "(e.g. '320s', '5m', '1h30m')"
    )


def parse_duration(value: Any) -> float:
    """'320s', '5m', '1h30m', '2d' or a number of seconds -> seconds (finite, >= 0; callers
    bound it: the config's table, check_duration_range)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _not_a_duration(value)
    if isinstance(value, str):
        text = value.strip(" ")
        m = _DURATION_RE.fullmatch(text)
        if text and m and any(m.groupdict().values()):
            g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
            seconds = g["d"] * 86400 + g["h"] * 3600 + g["m"] * 60 + g["s"]
        elif _whole(VERSION_NUMBER_RE, text):
            seconds = float(text)
        else:
            raise _not_a_duration(value)
    else:
        seconds = float(value)
    if math.isnan(seconds):
        raise _not_a_duration(value, " (not a number)")
    if math.isinf(seconds):
        raise _not_a_duration(value, " (not finite)")
    if seconds < 0:
        raise ValueError(f"{show(value)} is not a duration: it must not be negative")
    return seconds


def format_duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds == int(seconds):
        s = int(seconds)
        if s and s % 86400 == 0 and s >= 10 * 86400:
            return f"{s // 86400}d"
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
            f"{show(value)} is out of range: must be between {format_duration(low)} and "
            f"{format_duration(high)}"
        )
    return seconds


def check_url_path(value: str) -> str:
    from urllib.parse import urlsplit

    bad = (
        not isinstance(value, str)
        or not value.startswith("/")
        or value.startswith("//")
        or len(value) > 2000
        or any(c.isspace() or not c.isprintable() for c in value)
        or "#" in value
    )
    if not bad:
        parts = urlsplit(value)
        bad = bool(parts.scheme or parts.netloc)
    if bad:
        raise ValueError(
            f"{show(value)} is not a valid URL path: it must start with '/', with no spaces, "
            "control characters, scheme, host or fragment, at most 2000 characters (Cloud "
            "Scheduler takes URIs up to 2083) (e.g. '/sync')"
        )
    return value


def check_http_method(value: str) -> str:
    if not isinstance(value, str) or value.upper() not in HTTP_METHODS:
        raise ValueError(f"{show(value)} is not an HTTP method: one of {', '.join(HTTP_METHODS)}")
    return value.upper()


def check_headers(headers: dict[str, str]) -> dict[str, str]:
    """Extra request headers of a job: HTTP token names (RFC 9110), values of visible ASCII,
    space and tab (no CR/LF or other control characters), none Cloud Scheduler sets itself,
    no name twice (case-insensitively), under 80 KB in all."""
    seen: dict[str, str] = {}
    for name, value in headers.items():
        if not _whole(HEADER_NAME_RE, name):
            raise ValueError(
                f"header name {show(name)} is invalid: letters, digits and !#$%&'*+.^_`|~- only "
                "(e.g. 'Content-Type')"
            )
        low = name.lower()
        if low in SCHEDULER_HEADERS or low.startswith(SCHEDULER_HEADER_PREFIXES):
            raise ValueError(
                f"header {name!r} is set or dropped by Cloud Scheduler itself: remove it"
            )
        if low in seen:
            raise ValueError(f"header {name!r} is given twice (also as {seen[low]!r})")
        seen[low] = name
        if not _whole(HEADER_VALUE_RE, value):
            raise ValueError(
                f"header {name!r} has an invalid value {show(value)}: visible ASCII, spaces and "
                "tabs only (no CR, LF or other control characters)"
            )
    if sum(len(k) + len(v) for k, v in headers.items()) >= MAX_HEADERS_SIZE:
        raise ValueError("the headers are too large: Cloud Scheduler takes less than 80 KB in all")
    return dict(headers)


def check_text(
    value: str, *, limit: int | None = None, one_line: bool = False, required: bool = False
) -> str:
    """Free text with a length limit (in characters), optionally on one line (no control
    characters at all; else tabs and newlines are allowed), optionally not empty."""
    if required and not value.strip():
        raise ValueError("it is empty: leave the key out for the default, or write some text")
    if limit is not None and len(value) > limit:
        raise ValueError(f"{len(value)} characters is too long: at most {limit}")
    allowed = "" if one_line else "\t\n"
    bad = next((c for c in value if not c.isprintable() and c != " " and c not in allowed), None)
    if bad is not None:
        where = "one line of text" if one_line else "text"
        raise ValueError(f"contains a control character {bad!r}: expected {where}")
    return value


def check_member(value: str, *, allow_public: bool = False) -> str:
    """An IAM principal: serviceAccount:, user:, group:, domain: (public ones only on request:
    allUsers, allAuthenticatedUsers, and domain: of a consumer domain such as gmail.com)."""
    if not isinstance(value, str):
        raise ValueError(f"{show(value)} is not a valid member")
    kind, _, rest = value.partition(":")
    public = value in PUBLIC_MEMBERS or (kind == "domain" and rest.lower() in CONSUMER_DOMAINS)
    if public and not allow_public:
        raise ValueError(
            f"{value!r} would make this resource public"
            + (" (anyone with a Google account there)" if kind == "domain" else "")
            + ": refused (pass --allow-public if you really mean it)"
        )
    if value in PUBLIC_MEMBERS:
        return value
    if kind in ("serviceAccount", "user", "group") and _whole(EMAIL_RE, rest):
        return value
    if kind == "domain" and _whole(DOMAIN_RE, rest):
        return value
    raise ValueError(
        f"{show(value)} is not a valid member: one of serviceAccount:EMAIL, user:EMAIL, "
        "group:EMAIL, domain:DOMAIN (e.g. 'serviceAccount:thoth-mcp-sa@my-project."
        "iam.gserviceaccount.com')"
    )


def check_role(value: str) -> str:
    if not _whole(ROLE_RE, value):
        raise ValueError(
            f"{show(value)} is not a valid role: 'roles/NAME' or a custom role "
            "'projects/PROJECT/roles/NAME' (e.g. 'roles/secretmanager.secretAccessor')"
        )
    return value


def _label_pairs(pairs: list[str]) -> list[tuple[str, str]]:
    parsed = []
    for raw in pairs:
        if not str(raw).strip():
            raise ValueError("--labels is empty: give KEY=VALUE pairs (e.g. 'team=docs')")
        for part in str(raw).split(","):
            if not part:
                continue
            if "=" not in part:
                raise ValueError(f"{show(part)} is not a label: use KEY=VALUE (e.g. 'team=docs')")
            k, _, v = part.partition("=")
            parsed.append((k.strip(" "), v.strip(" ")))
    return parsed


def check_labels(pairs: list[str] | dict[str, str]) -> dict[str, str]:
    """KEY=VALUE pairs (or a dict) -> labels, with Secret Manager's label rules."""
    items = list(pairs.items()) if isinstance(pairs, dict) else _label_pairs(pairs)
    labels: dict[str, str] = {}
    for k, v in items:
        if not _whole(LABEL_KEY_RE, k):
            raise ValueError(
                f"label key {show(k)} is invalid: start with a lowercase letter, then up to 62 "
                "lowercase letters, digits, '_' or '-'"
            )
        if not _whole(LABEL_VALUE_RE, str(v)):
            raise ValueError(
                f"label value {show(v)} is invalid: up to 63 lowercase letters, digits, '_' or '-'"
            )
        if k in labels and labels[k] != str(v):
            raise ValueError(f"label {k!r} is given twice ({labels[k]!r} and {str(v)!r})")
        labels[k] = str(v)
    if len(labels) > 64:
        raise ValueError("too many labels: at most 64")
    return labels


def utf8(data: bytes) -> tuple[str | None, int]:
    """(the text, -1) or (None, offset of the first bad byte): decoding without letting a
    UnicodeDecodeError (which holds all the bytes) escape or become an exception's context."""
    try:
        return data.decode("utf-8"), -1
    except UnicodeDecodeError as exc:
        bad = exc.start
    return None, bad


def check_secret_bytes(data: bytes, fmt: str) -> None:
    """The rules every secret value meets before it is sent (whatever its source): not empty,
    at most 64 KiB, UTF-8 text without a NUL byte (it could never be put in an environment
    variable), and valid JSON for ``format = "json"``. Messages never quote the value, and no
    exception raised here holds it (the decoding errors are dropped before raising)."""
    if not data:
        raise ValueError("it is empty (Secret Manager refuses empty values)")
    if len(data) > MAX_SECRET_BYTES:
        raise ValueError(f"it is {len(data)} bytes, over the limit of {MAX_SECRET_BYTES} (64 KiB)")
    text, bad_byte = utf8(data)
    if text is None:
        raise ValueError(f"it is not valid UTF-8 (byte {bad_byte}), and the secret holds {fmt}")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise ValueError(
            f"it contains a NUL byte (byte {nul}), and a value must be usable as an environment "
            "variable"
        )
    if fmt == "json":
        _check_json(text)


def _check_json(text: str) -> None:
    import json

    where = None
    try:
        json.loads(text)
    except ValueError as exc:
        # Position only: the message of a JSON error could quote part of the value.
        where = f"line {getattr(exc, 'lineno', '?')}, column {getattr(exc, 'colno', '?')}"
    except RecursionError:
        where = "nested too deeply"
    if where is not None:
        raise ValueError(f"it is not valid JSON ({where})")


def is_loopback_url(url: str) -> bool:
    """Whether a URL's host is this machine: ``localhost`` or a loopback address (v4 or v6)."""
    import ipaddress
    from urllib.parse import urlsplit

    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(text: str) -> str | None:
    """Why ``text`` is not a usable base URL (None when it is): https, or http to a loopback host
    only (a local GitLab or the emulator), with a host and no spaces. The one rule for every URL
    a token is sent to."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
    except ValueError:
        return "it is not a URL"
    if " " in text or not host or parts.scheme not in ("http", "https"):
        return "it is not an http(s) URL with a host, such as https://gitlab.example.com"
    if parts.scheme == "http" and not is_loopback_url(text):
        return "plain http is allowed only for localhost; use https"
    return None
