"""Every identifier validator, the CLI's and the emulator's, against the documented grammar.

The grammar is written down once below, as data (:data:`GRAMMAR`: for each identifier the
characters allowed first, in the middle and last, and the lengths), read by a few lines of plain
Python that use no regular expression. Hypothesis feeds each validator generated identifiers:
valid ones, valid ones with a trailing newline, a CR, a NUL, a Unicode digit or space inserted,
and arbitrary text; the validator must accept exactly what the grammar accepts. A pattern
anchored with ``$`` (which also matches before a final newline) or a class such as ``\\d`` or
``\\s`` (which take Unicode digits and spaces) fails here.

Sources: Secret Manager (secret ids, version aliases), Cloud Scheduler (job ids), Resource
Manager (project ids), IAM (service account ids, members, roles), Cloud Run (service names),
RFC 9110 (header names), POSIX (environment variable names).
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thothctl import validate as v
from thothctl.emulator import iam as emu_iam
from thothctl.emulator import iam_policy as emu_policy
from thothctl.emulator import run as emu_run
from thothctl.emulator.scheduler import model as emu_scheduler
from thothctl.emulator.secretmanager import model as emu_secrets

LOWER, UPPER, DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
LETTERS = LOWER + UPPER
ATEXT = LETTERS + DIGITS + "!#$%&'*+/=?^_`{|}~-."  # RFC 5322 local part (dots included)
TCHAR = LETTERS + DIGITS + "!#$%&'*+.^_`|~-"  # RFC 9110 token


@dataclass(frozen=True)
class Word:
    """A word: its first character from ``first``, the last from ``last`` (for two or more
    characters), the others from ``middle``; ``low``..``high`` characters long."""

    first: str
    middle: str
    last: str
    low: int
    high: int | None = None

    def __call__(self, text: str) -> bool:
        if not self.low <= len(text) <= (self.high if self.high is not None else len(text)):
            return False
        if not text:
            return True
        if text[0] not in self.first or (len(text) > 1 and text[-1] not in self.last):
            return False
        return all(c in self.middle for c in text[1:-1])


def same(chars: str, low: int, high: int | None = None) -> Word:
    return Word(chars, chars, chars, low, high)


SECRET_ID = same(LETTERS + DIGITS + "_-", 1, 255)
JOB_ID = same(LETTERS + DIGITS + "_-", 1, 500)
ALIAS_WORD = Word(LETTERS, LETTERS + DIGITS + "_-", LETTERS + DIGITS + "_-", 1, 63)
ACCOUNT_ID = Word(LOWER, LOWER + DIGITS + "-", LOWER + DIGITS, 6, 30)
PROJECT_WORD = Word(LOWER, LOWER + DIGITS + "-", LOWER + DIGITS, 6, 30)
RUN_SERVICE = Word(LOWER, LOWER + DIGITS + "-", LOWER + DIGITS, 1, 49)
LABEL_KEY = Word(LOWER, LOWER + DIGITS + "_-", LOWER + DIGITS + "_-", 1, 63)
LABEL_VALUE = same(LOWER + DIGITS + "_-", 0, 63)
ENV_VAR = Word(LETTERS + "_", LETTERS + DIGITS + "_", LETTERS + DIGITS + "_", 1)
HEADER_NAME = same(TCHAR, 1, 256)
DOMAIN_LABEL = Word(LETTERS + DIGITS, LETTERS + DIGITS + "-", LETTERS + DIGITS, 1, 63)


def project(text: str) -> bool:
    """``[DOMAIN:]ID``: the optional prefix of a domain-scoped project (example.com:my-proj)."""
    prefix, colon, rest = text.partition(":")
    if not colon:
        return PROJECT_WORD(text)
    return Word(LOWER, LOWER + DIGITS + ".-", LOWER + DIGITS + ".-", 1)(prefix) and PROJECT_WORD(
        rest
    )


def region(text: str) -> bool:
    """letters, '-', letters then digits (us-central1)."""
    head, dash, tail = text.partition("-")
    letters = tail.rstrip(DIGITS)
    return (
        bool(dash and head and letters and letters != tail)
        and all(c in LOWER for c in head + letters)
        and all(c in DIGITS for c in tail[len(letters) :])
    )


def domain(text: str) -> bool:
    labels = text.split(".")
    tld = labels[-1]
    return (
        len(labels) >= 2
        and all(DOMAIN_LABEL(label) for label in labels[:-1])
        and 2 <= len(tld) <= 63
        and all(c in LETTERS for c in tld)
    )


def email(text: str) -> bool:
    local, at, host = text.rpartition("@")
    return bool(at) and same(ATEXT, 1, 64)(local) and domain(host)


def version(text: str) -> bool:
    if text == "latest":
        return True
    if text and all(c in DIGITS for c in text):
        return len(text) <= 18 and int(text) > 0
    return ALIAS_WORD(text) and text != "NEW"


def alias(text: str) -> bool:
    return ALIAS_WORD(text) and text not in ("latest", "NEW")


def role(text: str) -> bool:
    name = same(LETTERS + DIGITS + "_.", 1)
    if text.startswith("roles/"):
        return name(text[len("roles/") :])
    parts = text.split("/")
    return (
        len(parts) == 4
        and parts[0] in ("projects", "organizations")
        and same(LOWER + DIGITS + ":.-", 1)(parts[1])
        and parts[2] == "roles"
        and name(parts[3])
    )


def member(text: str, allow_public: bool) -> bool:
    if text in ("allUsers", "allAuthenticatedUsers"):
        return allow_public
    kind, colon, rest = text.partition(":")
    if kind in ("user", "serviceAccount", "group"):
        return bool(colon) and email(rest)
    if kind == "domain" and colon and domain(rest):
        return allow_public or rest.lower() not in ("gmail.com", "googlemail.com")
    return False


def env_var(text: str) -> bool:
    return ENV_VAR(text) and text not in ("PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION")


def api(text: str) -> bool:
    short = text.removesuffix(".googleapis.com")
    return Word(LOWER, LOWER + DIGITS + "-", LOWER + DIGITS + "-", 1)(short)


def accepts(check: Callable[..., object], **kw: object) -> Callable[[str], bool]:
    def run(text: str) -> bool:
        try:
            check(text, **kw)
        except ValueError:
            return False
        return True

    return run


def pattern(compiled) -> Callable[[str], bool]:
    return lambda text: compiled.fullmatch(text) is not None


# identifier -> (the documented grammar, an example of a valid one, the validators)
GRAMMAR: dict[str, tuple[Callable[[str], bool], str, dict[str, Callable[[str], bool]]]] = {
    "secret id": (
        SECRET_ID,
        "gitlab-token",
        {
            "cli": accepts(v.check_secret_id),
            "emulator": pattern(emu_secrets.SECRET_ID_RE),
        },
    ),
    "version": (version, "current", {"cli": accepts(v.check_version)}),
    "version alias": (
        alias,
        "previous",
        {
            "cli": accepts(v.check_alias),
            "emulator": lambda t: pattern(emu_secrets.ALIAS_RE)(t) and t not in ("latest", "NEW"),
        },
    ),
    "job id": (
        JOB_ID,
        "thoth-daily-sync",
        {"cli": accepts(v.check_job_id), "emulator": pattern(emu_scheduler.JOB_ID_RE)},
    ),
    "project id": (project, "thoth-prod", {"cli": accepts(v.check_project)}),
    "region": (
        region,
        "us-central1",
        {"cli": accepts(v.check_region), "emulator": pattern(emu_secrets.LOCATION_RE)},
    ),
    "Cloud Run service": (
        RUN_SERVICE,
        "thoth-mcp-server",
        {"cli": accepts(v.check_run_service), "emulator": pattern(emu_run.SERVICE_ID_RE)},
    ),
    "service account id": (
        ACCOUNT_ID,
        "thoth-scheduler",
        {
            "cli": lambda t: v.ACCOUNT_ID_RE.fullmatch(t) is not None,
            "emulator": lambda t: 6 <= len(t) <= 30 and pattern(emu_iam.ACCOUNT_ID_RE)(t),
        },
    ),
    "environment variable": (env_var, "GITLAB_TOKEN", {"cli": accepts(v.check_env_var)}),
    "API": (api, "secretmanager.googleapis.com", {"cli": accepts(v.check_api)}),
    "label key": (LABEL_KEY, "team", {"cli": lambda t: accepts(v.check_labels)({t: "x"})}),
    "label value": (LABEL_VALUE, "docs", {"cli": lambda t: accepts(v.check_labels)({"k": t})}),
    "role": (role, "roles/secretmanager.secretAccessor", {"cli": accepts(v.check_role)}),
    "member": (
        lambda t: member(t, allow_public=False),
        "user:alice@example.com",
        {"cli": accepts(v.check_member)},
    ),
    "member, --allow-public": (
        lambda t: member(t, allow_public=True),
        "domain:example.com",
        {"cli": accepts(v.check_member, allow_public=True)},
    ),
    "header name": (
        HEADER_NAME,
        "Content-Type",
        {"cli": lambda t: accepts(v.check_headers)({t: "x"})},
    ),
}

# What an identifier goes wrong with: line ends, NUL, DEL, C1, Unicode digits, spaces, letters.
TRICKY = ["\n", "\r\n", "\r", "\x00", "\x7f", "\x85", "\u2028", " ", "\t", "٣", "²", "Ａ", "é"]
CHARS = LETTERS + DIGITS + "-_.:/@" + "".join(TRICKY)


@st.composite
def identifiers(draw, example: str) -> str:
    """Mostly near-valid: the example, cut, lengthened, cased and with a tricky character
    inserted, appended or prepended; sometimes arbitrary text."""
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(st.text(alphabet=CHARS, max_size=40))
    base = example
    if draw(st.booleans()):
        base = base[: draw(st.integers(0, len(base)))]
    if draw(st.booleans()):
        base += draw(st.text(alphabet=LETTERS + DIGITS + "-_.", max_size=8))
    if draw(st.integers(0, 3)) == 0:
        base = base.upper() if draw(st.booleans()) else base.lower()
    if kind >= 3:
        where = draw(st.integers(0, len(base)))
        trick = draw(st.sampled_from(TRICKY))
        base = (base + trick) if kind == 3 else base[:where] + trick + base[where:]
    if kind == 5:
        base = base * draw(st.integers(1, 600 // max(1, len(base))))
    return base


CASES = [(name, impl) for name, (_, _, impls) in GRAMMAR.items() for impl in impls]


@pytest.mark.parametrize(("name", "impl"), CASES, ids=[f"{n} ({i})" for n, i in CASES])
@settings(max_examples=100, deadline=None, database=None)
@given(data=st.data())
def test_every_validator_accepts_exactly_the_documented_grammar(name, impl, data):
    grammar, example, impls = GRAMMAR[name]
    text = data.draw(identifiers(example), label="identifier")
    assert impls[impl](text) == grammar(text), f"{name} {text!r}: grammar says {grammar(text)}"


@pytest.mark.parametrize("name", list(GRAMMAR))
def test_the_grammar_takes_its_example_and_refuses_a_trailing_newline(name):
    grammar, example, impls = GRAMMAR[name]
    assert grammar(example) and not grammar(example + "\n")
    for impl, check in impls.items():
        assert check(example), (name, impl)
        assert not check(example + "\n"), (name, impl)


def test_the_emulators_member_and_role_patterns_refuse_control_characters():
    for text in ("user:a@example.com", "domain:example.com", "roles/run.invoker"):
        compiled = emu_policy.ROLE_RE if text.startswith("roles/") else emu_policy.MEMBER_RE
        assert compiled.fullmatch(text)
        for trick in TRICKY[:7]:
            assert not compiled.fullmatch(text + trick), repr(text + trick)
