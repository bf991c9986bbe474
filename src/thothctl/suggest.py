"""Did you mean…? The closest existing names for a name that matched nothing: secrets, jobs,
environments, APIs, commands and choices. Pure functions over the candidates (difflib), no I/O.

An environment variable spelling is a strong hint: ``GITLAB_TOKEN`` means the secret whose env var
it is (``gitlab-token``), even though the strings are far apart.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

CUTOFF = 0.6
NEAR = 0.08  # also offer names almost as close as the closest
MAX = 3


def closest(name: str, candidates: Iterable[str], *, n: int = MAX) -> list[str]:
    """Up to ``n`` candidates close to ``name``, closest first (case and ``_``/``-`` ignored)."""
    pool = list(dict.fromkeys(c for c in candidates if c))
    folded = {_fold(c): c for c in pool}
    exact = folded.get(_fold(name))
    if exact is not None:
        return [exact]
    target = _fold(name)
    scored = sorted(
        ((difflib.SequenceMatcher(None, target, f).ratio(), f) for f in folded), reverse=True
    )
    best = scored[0][0] if scored else 0.0
    found = [f for score, f in scored if score >= CUTOFF and score >= best - NEAR]
    prefixed = [f for f in folded if f.startswith(target) and len(target) >= 3]
    return [folded[f] for f in dict.fromkeys([*found, *prefixed])][:n]


def _fold(text: str) -> str:
    return text.lower().replace("_", "-")


def did_you_mean(
    name: str, candidates: Iterable[str], *, env_vars: Mapping[str, str] | None = None
) -> str | None:
    """``"did you mean gitlab-token?"``, or None when nothing is close. ``env_vars`` maps an
    environment variable to the name it stands for (``{"GITLAB_TOKEN": "gitlab-token"}``)."""
    by_env = (env_vars or {}).get(name) or (env_vars or {}).get(name.upper())
    if by_env:
        return f"did you mean {by_env} (the secret behind ${name.upper()})?"
    found = closest(name, candidates)
    if not found:
        return None
    return f"did you mean {_or(found)}?"


def _or(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def unknown(
    kind: str,
    name: str,
    valid: Iterable[str],
    *,
    env_vars: Mapping[str, str] | None = None,
    limit: int = 8,
    listed_as: str | None = None,
) -> tuple[str, str | None]:
    """(message, hint) for a ``kind`` name that matched nothing: the message names the valid ones
    (``unknown job 'daily': the jobs are daily-sync and hourly-incremental-sync``), the hint the
    closest (``did you mean daily-sync?``), or None when nothing is close."""
    pool = list(dict.fromkeys(valid))
    if not pool:
        return f"unknown {kind} {name!r}: there are no {kind}s", None
    shown = pool[:limit] + (["…"] if len(pool) > limit else [])
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    group = listed_as or kind
    one = f"the only {group} is" if len(pool) == 1 else f"the {group}s are"
    return f"unknown {kind} {name!r}: {one} {listed}", did_you_mean(name, pool, env_vars=env_vars)
