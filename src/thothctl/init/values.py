"""Where each first secret value of ``thothctl init`` comes from: its env var, the prompt, the
default, or nowhere (an optional secret is skipped).

``value_needs`` decides, per secret that needs a first version, its :class:`ValueNeed` (the source,
and the value itself when it is already known). A required value that cannot be had fails here,
before any change. ``first_values`` maps each secret to its value, to None (skipped), or to
:class:`Asked` for a value the prompt will ask for once the plan has been shown;
``collect_values`` asks the caller's prompt for those and checks every answer
(:mod:`thothctl.secrets` validates values).
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
        """What the prompt shows: the secret, and what Enter does."""
        enter = (
            self.spec.default if self.spec.default else ("skip" if not self.spec.required else None)
        )
        return secrets.prompt_label(self.spec, enter=enter)

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


@dataclass(frozen=True)
class Asked:
    """Stands for a value the prompt asks for after the plan is shown (never uploaded)."""

    spec: SecretSpec

    source = "the prompt"

    @property
    def note(self) -> str:
        """What the plan says of the value: it is asked for once the plan has been shown."""
        return "value asked next" if self.spec.required else "value asked next; Enter skips it"


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
        f"no value for secret {spec.name}: ${spec.env} is not set, and prompting is off",
        hint=f"set {spec.env}, or run init at a terminal to be asked for it; nothing was changed",
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


def first_values(
    needs: Iterable[ValueNeed], *, ask_optional: bool = True
) -> dict[str, secrets.SecretValue | Asked | None]:
    """The first values known before any prompt, by secret name: the value (env var, default),
    None (skip), or :class:`Asked` for a PROMPT need (an optional one only if ``ask_optional``)."""
    return {
        n.name: (Asked(n.spec) if n.spec.required or ask_optional else None)
        if n.source == PROMPT
        else n.value
        for n in needs
    }


def collect_values(
    needs: Iterable[ValueNeed], ask: Callable[[ValueNeed], str]
) -> dict[str, secrets.SecretValue | None]:
    """The first values, by secret name (None: skip). ``ask`` prompts for a PROMPT need and
    returns the text typed; each answer is checked (a mistake raises UsageError)."""
    return {n.name: n.from_answer(ask(n)) if n.source == PROMPT else n.value for n in needs}
