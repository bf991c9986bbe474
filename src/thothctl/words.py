"""Small wording helpers shared by the library's messages and the CLI's: counts with the right
plural, lists read aloud. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Iterable

_IRREGULAR = {"is": "are", "was": "were", "has": "have", "does": "do", "this": "these"}


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``plural(1, "change")`` -> "1 change"; ``plural(3, "change")`` -> "3 changes"."""
    return f"{count} {noun if count == 1 else many or _plural_of(noun)}"


def noun(count: int, word: str, many: str | None = None) -> str:
    """The word alone, in the form the count needs: ``noun(2, "version")`` -> "versions",
    ``noun(2, "is")`` -> "are"."""
    return word if count == 1 else many or _plural_of(word)


def _plural_of(word: str) -> str:
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def join(items: Iterable[object], last: str = "and") -> str:
    """ "a", "a and b", "a, b and c"."""
    parts = [str(i) for i in items]
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {last} {parts[-1]}"
