"""Where each first secret value of ``thothctl init`` comes from: its env var, the prompt, the
default, or nowhere (an optional secret is skipped).

``value_needs`` decides, per secret that needs a first version, its :class:`ValueNeed` (the source,
and the value itself when it is already known); ``collect_values`` asks the caller's prompt for the
rest and checks every answer (:mod:`thothctl.secrets` validates values). A required value that
cannot be had fails here, before any change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from thothctl import secrets
from thothctl.config import SecretSpec
from thothctl.errors import UsageError

ENV, PROMPT, DEFAULT, SKIP = "env", "prompt", "default", "skip"


@dataclass(frozen=True)
class ValueNeed:
    """One secret's first value: where it comes from, and the value when already known."""

    spec: SecretSpec
    source: str  # env | prompt | default | skip
    value: secrets.SecretValue | None = None  # set for env and default

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def label(self) -> str:
        """What the hidden prompt shows, with what Enter does."""
        label = f"{self.spec.description} ({self.spec.name})"
        if self.spec.default:
            return label + f" [Enter: {self.spec.default}]"
        return label if self.spec.required else label + " [Enter: skip]"

    @property
    def empty_ok(self) -> bool:
        """Whether an empty answer at the prompt means something (the default, or skip)."""
        return bool(self.spec.default) or not self.spec.required

    def from_answer(self, text: str) -> secrets.SecretValue | None:
        """The value for a prompt answer: empty takes the default or skips; else it is checked."""
        if text:
            return secrets.value_from_prompt(self.spec, text)
        if self.spec.default:
            return _default(self.spec)
        if not self.spec.required:
            return None
        raise UsageError(f"no value for {self.name}", hint="nothing was changed")


def _default(spec: SecretSpec) -> secrets.SecretValue:
    return secrets.SecretValue(spec.default.encode(), "the default")


def _need(
    spec: SecretSpec, environ: Mapping[str, str], *, can_prompt: bool, dry_run: bool
) -> ValueNeed:
    if environ.get(spec.env) is not None:
        return ValueNeed(spec, ENV, secrets.value_from_env(spec, environ))
    if dry_run:  # a plan only: never prompt
        return ValueNeed(spec, DEFAULT, _default(spec)) if spec.default else ValueNeed(spec, SKIP)
    if can_prompt:
        return ValueNeed(spec, PROMPT)
    if spec.default is not None:
        return ValueNeed(spec, DEFAULT, _default(spec))
    if not spec.required:
        return ValueNeed(spec, SKIP)
    raise UsageError(
        f"no value for secret {spec.name}: ${spec.env} is not set and prompting is off",
        hint=f"set {spec.env} (or run interactively); nothing was changed",
    )


def value_needs(
    specs: Iterable[SecretSpec],
    environ: Mapping[str, str],
    *,
    can_prompt: bool,
    dry_run: bool,
) -> list[ValueNeed]:
    """The source of each first value: the env var when set; in a dry run the default or nothing;
    else the prompt when prompting is on; else the default; else skip an optional secret. A
    required value with no source raises UsageError (exit 2) before any change."""
    return [_need(s, environ, can_prompt=can_prompt, dry_run=dry_run) for s in specs]


def collect_values(
    needs: Iterable[ValueNeed], ask: Callable[[ValueNeed], str]
) -> dict[str, secrets.SecretValue | None]:
    """The first values, by secret name (None: skip). ``ask`` prompts for a PROMPT need (hidden,
    typed twice) and returns the text typed."""
    return {n.name: n.from_answer(ask(n)) if n.source == PROMPT else n.value for n in needs}
