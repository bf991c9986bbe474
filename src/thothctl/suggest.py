"""Did you mean…? The closest existing names for a name that matched nothing: secrets, jobs,
environments, APIs, commands and choices. Pure functions over the candidates (difflib), no I/O.

An environment variable spelling is a strong hint: ``GITLAB_TOKEN`` means the secret whose env var
it is (``gitlab-token``), even though the strings are far apart.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

CUTOFF = 0.6
MAX = 3


def closest(name: str, candidates: Iterable[str], *, n: int = MAX) -> list[str]:
    """Up to ``n`` candidates close to ``name``, closest first (case and ``_``/``-`` ignored)."""
    pool = list(dict.fromkeys(c for c in candidates if c))
    folded = {_fold(c): c for c in pool}
    exact = folded.get(_fold(name))
    if exact is not None:
        return [exact]
    found = difflib.get_close_matches(_fold(name), list(folded), n=n, cutoff=CUTOFF)
    prefixed = [f for f in folded if f.startswith(_fold(name)) and len(name) >= 3]
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


def unknown_hint(
    name: str,
    candidates: Iterable[str],
    *,
    kind: str,
    env_vars: Mapping[str, str] | None = None,
    limit: int = 8,
) -> str:
    """The hint for an unknown ``kind`` name: the closest names if any, else the valid ones."""
    pool = sorted(dict.fromkeys(candidates))
    guess = did_you_mean(name, pool, env_vars=env_vars)
    if guess:
        return guess
    if not pool:
        return f"there are no {kind}s yet"
    shown = ", ".join(pool[:limit]) + (", …" if len(pool) > limit else "")
    return f"the {kind}s are {shown}"
