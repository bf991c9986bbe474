"""`thothctl secrets`: the Secret Manager lifecycle.

Parse and validate every argument first (bad input: exit 2, no call made), read the value through
thothctl.secrets.values (hidden prompt, stdin, a file or the configured env var), call one
thothctl.secrets function, render its result.
"""

from __future__ import annotations

from enum import StrEnum

import typer

import thothctl.cli.secrets_rotate as secrets_rotate
from thothctl import validate
from thothctl.cli.complete import complete_secret_name
from thothctl.cli.context import AppContext, get_ctx
from thothctl.cli.prompts import read_value
from thothctl.errors import Cancelled, UsageError
from thothctl.lazy import lazy
from thothctl.output import CUT, WRAP, Column, Styled, join, noun, plural, relative_time

lib = lazy("thothctl.secrets")
rotation = lazy("thothctl.secrets.rotate")
# The default role; the same as thothctl.secrets.ACCESSOR_ROLE (spelled out so that building the
# command tree does not import the library).
ACCESSOR_ROLE = "roles/secretmanager.secretAccessor"

app = typer.Typer(
    help="Create, set, rotate, read and grant access to Thoth's secrets.\n\n"
    "Values never go on the command line: they come from a hidden prompt (typed twice), stdin "
    "(`-` or `--from-file -`), a file (`--from-file PATH`) or, with --no-input, the env var "
    "named in the config.\n\n"
    "Examples:\n"
    "  thothctl secrets list\n"
    "  thothctl secrets rotate gitlab-token --update-service",
    no_args_is_help=True,
)

NAME_ARG = typer.Argument(..., help="Secret id.", autocompletion=complete_secret_name)
SOURCE_ARG = typer.Argument(
    None, metavar="[-]", help="'-' reads the value from stdin.", show_default=False
)
FROM_FILE_OPTION = typer.Option(
    None,
    "--from-file",
    "-f",
    help="Read the value from PATH, or from stdin with '-' (one trailing newline is removed).",
    show_default=False,
)


class StateFilter(StrEnum):
    enabled = "enabled"
    disabled = "disabled"
    destroyed = "destroyed"


def _check(fn, value, **kw):
    try:
        return fn(value, **kw)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _name(value: str) -> str:
    return _check(validate.check_secret_id, value)


def _named_value(
    ctx: typer.Context, name: str, source: str | None, from_file: str | None, verify: bool
) -> tuple[AppContext, str, lib.SecretValue]:
    """For set and rotate: the checked name and the value from its one source (``-``: stdin, a
    path, else the hidden prompt or, with prompting off, the env var)."""
    name = _name(name)
    source = lib.check_source(source, from_file)
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    value = read_value(app_ctx, lib.spec_for(app_ctx.config, name), source)
    if value.stripped_newline:
        out.info("Removed one trailing newline from stdin (pipe with printf '%s' to keep it).")
    secrets_rotate.check_token(app_ctx, name, value, verify)
    return app_ctx, name, value


# --- list / describe / versions -------------------------------------------------------------


@app.command("list")
def list_cmd(ctx: typer.Context) -> None:
    """Show configured and existing secrets side by side; never reads a value.

    For each secret: whether it is configured and exists, its versions (enabled/disabled/
    destroyed), the latest version and its age, and who can access it. A configured secret that
    does not exist is shown as missing.

    Example: thothctl secrets list -o json
    """
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    rows = lib.list_secrets(app_ctx.clients, app_ctx.config)

    def human() -> None:
        table = []
        for s in rows:
            counts = s.counts
            latest = s.latest
            exists = Styled("yes", "green") if s.exists else Styled("missing", "red")
            if not s.exists and not s.required:
                exists = Styled("missing (optional)", "yellow")
            versions = (
                ", ".join(f"{n} {state}" for state, n in counts.items() if n) or "none"
                if counts
                else "-"
            )
            when = latest.create_time if latest else None
            table.append(
                [
                    s.name,
                    "yes" if s.configured else "no",
                    exists if out.is_tty else ("yes" if s.exists else "missing"),
                    versions,
                    f"{latest.number} ({latest.state.lower()})" if latest else "-",
                    (relative_time(when) if out.is_tty else when) if when else "-",
                    s.accessors,
                ]
            )
        out.table(
            [
                Column("NAME"),
                Column("CONFIGURED", drop=2),
                Column("EXISTS"),
                Column("VERSIONS", fit=WRAP),
                Column("LATEST"),
                Column("AGE", drop=3),
                Column("ACCESS", drop=1, fit=CUT),
            ],
            table,
            empty="No secrets configured or found.",
        )
        missing = [s.name for s in rows if s.configured and not s.exists and s.required]
        if missing:
            out.info(f"{plural(len(missing), 'required secret')} missing: {', '.join(missing)}.")
            out.next_steps(["thothctl init --only secrets"])

    out.emit([s.to_json() for s in rows], human)


@app.command("describe")
def describe_cmd(
    ctx: typer.Context,
    name: str = NAME_ARG,
) -> None:
    """Show one secret: configuration, labels, aliases, versions and IAM bindings.

    Never reads a value.

    Example: thothctl secrets describe gitlab-token
    """
    name = _name(name)
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    st = lib.describe(app_ctx.clients, app_ctx.config, name)

    def human() -> None:
        counts = st.counts
        latest = st.latest
        pairs = [
            ("name", st.name),
            ("resource", st.resource or "(missing)"),
            ("configured", st.configured),
            ("env", st.env),
            ("description", st.description),
            ("format", st.format),
            ("created", st.create_time),
            ("replication", st.replication),
            ("labels", [f"{k}={v}" for k, v in st.labels.items()]),
            ("aliases", [f"{k}={v}" for k, v in sorted(st.aliases.items())]),
        ]
        if counts is not None:
            pairs.append(("versions", ", ".join(f"{n} {state}" for state, n in counts.items())))
            age = f"{latest.state.lower()}, {relative_time(latest.create_time)}" if latest else ""
            pairs.append(("latest", f"{latest.number} ({age})" if latest else "-"))
        pairs.extend(st.binding_rows)
        out.fields(pairs)
        if not st.exists:
            out.info(f"{name} does not exist yet; create it with `thothctl secrets create {name}`.")

    out.emit(st.to_json() | {"version_list": [v.to_json() for v in st.versions or []]}, human)


@app.command("versions")
def versions_cmd(
    ctx: typer.Context,
    name: str = NAME_ARG,
    state: StateFilter | None = typer.Option(
        None, "--state", help="Only versions in this state.", show_default=False
    ),
) -> None:
    """List the versions of a secret, newest first.

    Shows each version's state, age and aliases. Never reads a value.

    Example: thothctl secrets versions gitlab-token --state enabled
    """
    name = _name(name)
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    found = lib.versions(app_ctx.clients, name, state.value.upper() if state else None)

    def human() -> None:
        out.table(
            ["VERSION", "STATE", "CREATED", "ALIASES"],
            [
                [
                    v.number,
                    v.state.lower(),
                    relative_time(v.create_time) if out.is_tty else v.create_time,
                    v.aliases,
                ]
                for v in found
            ],
            empty=f"{name} has no versions" + (f" in state {state.value}" if state else "") + ".",
        )

    out.emit([v.to_json() for v in found], human)


# --- create / set / rotate ---------------------------------------------------------------------


@app.command("create")
def create_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(
        ..., help="Secret id (letters, digits, '-', '_').", autocompletion=complete_secret_name
    ),
    labels: list[str] | None = typer.Option(
        None,
        "--labels",
        "-l",
        help="KEY=VALUE labels (repeat or comma-separate).",
        show_default=False,
    ),
    locations: list[str] | None = typer.Option(
        None,
        "--location",
        help="Replicate only to these regions (default: automatic).",
        show_default=False,
    ),
) -> None:
    """Create a secret (no value yet); replication is automatic unless --location is given.

    Safe to re-run: an existing secret is left alone. Add a value with `thothctl secrets set`.

    Example: thothctl secrets create gitlab-token --labels team=docs
    """
    name = _name(name)
    parsed = _check(validate.check_labels, labels or [])
    for loc in locations or []:
        _check(validate.check_region, loc)
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    created, st = lib.create(app_ctx.clients, name, parsed, locations or [])

    def human() -> None:
        if created:
            out.success(f"Created secret {name} ({st.replication}).")
        else:
            out.info(f"Secret {name} already exists; left unchanged.")
            if st.labels != parsed and parsed:
                shown = join(f"{k}={v}" for k, v in st.labels.items())
                out.warn(f"its labels are {shown}, not the ones given; create changed nothing.")
        if name not in app_ctx.config.secrets:
            out.info(f"{name} is not in thothctl.toml: add [secrets.{name}] for exec and list.")
        out.next_steps([f"thothctl secrets set {name}"])

    out.emit(
        {
            "name": name,
            "created": created,
            **{k: v for k, v in st.to_json().items() if k in ("resource", "labels", "replication")},
        },
        human,
    )


@app.command("set")
def set_cmd(
    ctx: typer.Context,
    name: str = NAME_ARG,
    source: str | None = SOURCE_ARG,
    from_file: str | None = FROM_FILE_OPTION,
    no_verify: bool = secrets_rotate.NO_VERIFY,
) -> None:
    """Add a new version holding a value.

    The value comes from the hidden prompt (typed twice), stdin, a file, or with --no-input the
    config's env var. It is checked first (not empty, at most 64 KiB, UTF-8 text or valid JSON
    for JSON secrets) and sent with a CRC32C checksum. Nothing is added when the latest enabled
    version already holds the same value, and a retried call never creates a duplicate. A new
    gitlab-token is first checked with GitLab (active, scopes; a warning when it expires soon).

    Example: printf '%s' "$TOKEN" | thothctl secrets set gitlab-token -
    """
    app_ctx, name, value = _named_value(ctx, name, source, from_file, not no_verify)
    out = app_ctx.out
    with out.spinner(f"Adding a version to {name}…"):
        result = lib.add_version(app_ctx.clients, name, value)
    if not result.added:
        message = f"{name} unchanged: {result.note}; nothing added."
    else:
        extra = " (the first try took effect; its response was lost)" if result.recovered else ""
        message = f"Added version {result.version} to {name}{extra}."
    out.emit(result.to_json(), lambda: out.success(message))


@app.command("rotate")
def rotate_cmd(
    ctx: typer.Context,
    name: str = NAME_ARG,
    source: str | None = SOURCE_ARG,
    from_file: str | None = FROM_FILE_OPTION,
    keep: int = typer.Option(
        2, "--keep", min=1, help="Enabled versions to keep, the new one included."
    ),
    disable_previous: bool = typer.Option(
        False, "--disable-previous", help="Keep only the new version enabled (same as --keep 1)."
    ),
    destroy_old: bool = typer.Option(
        False, "--destroy-old", help="Destroy (irreversibly) instead of disabling the old versions."
    ),
    update_service: bool = typer.Option(
        False,
        "--update-service",
        help="Point the Cloud Run service's env vars at the new version (new revision).",
    ),
    self_rotate: bool = secrets_rotate.SELF_ROTATE,
    expires_in: str | None = secrets_rotate.EXPIRES_IN,
    if_expiring_within: str | None = secrets_rotate.IF_EXPIRING,
    no_verify: bool = secrets_rotate.NO_VERIFY,
) -> None:
    """Rotate a secret: add the new value, verify it, retire old versions, update the service.

    Steps: add a version (skipped when the latest enabled version already holds the value), read
    it back and verify its CRC32C, with --update-service pin the Cloud Run service's env vars
    that reference this secret to the new version number (env vars on `latest` get a new
    revision, as Cloud Run resolves secrets only when an instance starts), disable the enabled
    versions beyond --keep and move the configured aliases to the enabled versions, newest first
    (so with --keep 1 the second alias, e.g. `previous`, is removed). Nothing is destroyed unless
    --destroy-old. Safe to re-run after any failure. gitlab-token --self-rotate: GitLab makes the
    new token, which is stored, the service rolled onto it and the old versions disabled.

    Examples:
      thothctl secrets rotate gitlab-token --from-file token.txt --update-service
      thothctl secrets rotate gitlab-token --self-rotate --expires-in 90d --if-expiring-within 30d
    """
    if self_rotate or expires_in or if_expiring_within:
        given = source is not None or from_file is not None
        return secrets_rotate.self_rotate_cmd(
            get_ctx(ctx),
            _name(name),
            given,
            expires_in=expires_in,
            if_expiring_within=if_expiring_within,
            destroy_old=destroy_old,
        )
    app_ctx, name, value = _named_value(ctx, name, source, from_file, not no_verify)
    keep = 1 if disable_previous else keep
    out = app_ctx.out
    if destroy_old and not app_ctx.confirm(
        f"Destroy the versions of {name} older than the kept ones? This cannot be undone"
    ):
        raise Cancelled()
    with out.spinner(f"Rotating {name}…"):
        result = rotation.rotate(
            app_ctx.clients,
            app_ctx.config,
            name,
            value,
            keep=keep,
            destroy_old=destroy_old,
            update_run_service=update_service,
        )

    out.emit(result.to_json(), lambda: secrets_rotate.render_rotation(out, name, result))


# --- get --------------------------------------------------------------------------------------


@app.command("get")
def get_cmd(
    ctx: typer.Context,
    name: str = NAME_ARG,
    version: str = typer.Option(
        "latest", "--version", help="Version number, 'latest' or an alias."
    ),
    reveal: bool = typer.Option(False, "--reveal", help="Print the value on a terminal too."),
) -> None:
    """Print a secret's value (to a pipe, or to a terminal with --reveal).

    The value is written exactly as stored. On a terminal without --reveal the command refuses,
    so values do not end up in scrollback or screen shares by accident.

    Example: thothctl secrets get gitlab-token | wc -c
    """
    name = _name(name)
    version = _check(validate.check_version, version)
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    if out.is_tty and not reveal:
        raise UsageError(
            f"refusing to print the value of {name} on a terminal",
            hint=f"pass --reveal to show it, or pipe it: thothctl secrets get {name} | wc -c",
        )
    number, data = lib.access(app_ctx.clients, name, version)
    if out.json_mode:
        out.json({"name": name, "version": number, **lib.payload_json(data)})
        return
    out.raw(data)
    if out.is_tty and not data.endswith(b"\n"):
        out.raw(b"\n")


# --- version states / delete ------------------------------------------------------------------


VERSION_ACTIONS = {
    "disable": (
        """Disable versions: they can no longer be read, but can be enabled again.

        The data is kept, so the version can be enabled again; a disabled version is still billed as
        an active version. Anything reading it ('latest' included, when it is the newest) gets an error.

        Examples:
          thothctl secrets disable gitlab-token 3
          thothctl secrets disable gitlab-token 3 4
        """,
        None,
    ),
    "enable": (
        """Enable disabled versions again.

        A destroyed version cannot be enabled: its data is gone. Enabling an enabled version changes
        nothing.

        Example: thothctl secrets enable gitlab-token 3
        """,
        None,
    ),
    "destroy": (
        """Destroy versions' data for good (asks first, or pass --yes).

        Irreversible: the payload is erased and the version can never be enabled again (destroyed
        versions are not billed). Versions the Cloud Run service still pins should be rotated away first.

        Examples:
          thothctl secrets destroy gitlab-token 1 --yes
          thothctl secrets destroy gitlab-token 1 2 3 --yes
        """,
        "Destroy {versions} of {name}? This cannot be undone",
    ),
}
DONE = {"enable": "Enabled", "disable": "Disabled", "destroy": "Destroyed"}


def _render_states(out, name: str, action: str, infos) -> None:
    for info in infos:
        if action == "destroy" and info.state == "DISABLED" and info.scheduled_destroy_time:
            when = info.scheduled_destroy_time
            out.success(f"Version {info.number} of {name} is disabled; it is destroyed at {when}.")
        else:
            out.success(f"{DONE[action]} version {info.number} of {name}.")
    if action == "disable":
        out.info("Disabled versions are still billed: destroy them when they are no longer needed.")


def _version_command(action: str, doc: str, question: str | None) -> None:
    """Register `secrets disable|enable|destroy NAME VERSION...`: one body for the three. -o
    json: one object for one version, a list for several."""

    def command(
        ctx: typer.Context,
        name: str = NAME_ARG,
        numbers: list[str] = typer.Argument(..., metavar="VERSION", help="Version numbers."),
    ) -> None:
        name = _name(name)
        numbers = list(dict.fromkeys(_check(validate.check_version_number, n) for n in numbers))
        app_ctx, out = get_ctx(ctx), get_ctx(ctx).out
        shown = f"{noun(len(numbers), 'version')} {join(numbers)}"
        if question and not app_ctx.confirm(question.format(name=name, versions=shown)):
            raise Cancelled()
        infos = [lib.set_state(app_ctx.clients, name, n, action) for n in numbers]
        data = [{"name": name, **info.to_json()} for info in infos]
        human = lambda: _render_states(out, name, action, infos)  # noqa: E731
        out.emit(data if len(data) > 1 else data[0], human)

    command.__name__ = f"{action}_cmd"
    app.command(action, help=doc)(command)


for _action, (_doc, _question) in VERSION_ACTIONS.items():
    _version_command(_action, _doc, _question)


@app.command("delete")
def delete_cmd(
    ctx: typer.Context,
    name: str = NAME_ARG,
) -> None:
    """Delete a secret and all its versions (asks first, or pass --yes).

    Irreversible: every version and the secret's IAM policy go with it. A service whose env vars
    reference the secret will fail to start new instances.

    Example: thothctl secrets delete old-token --yes
    """
    name = _name(name)
    app_ctx = get_ctx(ctx)
    if not app_ctx.confirm(f"Delete secret {name} and all its versions? This cannot be undone"):
        raise Cancelled()
    lib.delete(app_ctx.clients, name)
    out = app_ctx.out
    out.emit({"name": name, "deleted": True}, lambda: out.success(f"Deleted secret {name}."))


# --- grant / revoke ----------------------------------------------------------------------------


MEMBER_HELP = "serviceAccount:EMAIL, user:EMAIL, group:EMAIL or domain:DOMAIN."
ACCESS_MESSAGES = {  # action: (when changed, when nothing changed)
    "grant": (
        "Granted {role} on {name} to {member}.",
        "{member} already has {role} on {name}; nothing changed.",
    ),
    "revoke": (
        "Revoked {role} on {name} from {member}.",
        "{member} does not have {role} on {name}; nothing changed.",
    ),
}


def _change_access(ctx: typer.Context, action: str, name: str, member: str, **kw) -> None:
    """grant | revoke one role on one secret, and say what changed and what stays."""
    app_ctx = get_ctx(ctx)
    out = app_ctx.out
    result = getattr(lib, action)(app_ctx.clients, name, member, **kw)
    changed, unchanged = ACCESS_MESSAGES[action]
    words = {"name": name, "member": member, "role": result.role}
    line = (changed if result.changed else unchanged).format(**words)
    say, note = (out.success if result.changed else out.info), result.note
    out.emit(result.to_json(), lambda: say(line + (f" Note: {note}." if note else "")))


@app.command("grant")
def grant_cmd(
    ctx: typer.Context,
    name: str = NAME_ARG,
    member: str = typer.Argument(..., help=MEMBER_HELP),
    role: str = typer.Option(ACCESSOR_ROLE, "--role", help="Role to grant on this secret only."),
    allow_public: bool = typer.Option(
        False, "--allow-public", help="Allow allUsers / allAuthenticatedUsers."
    ),
) -> None:
    """Grant a member a role on one secret (least privilege: never project-wide).

    Read-modify-write with the policy's etag, retried on concurrent changes; other bindings are
    kept. Granting what is already granted changes nothing.

    Example: thothctl secrets grant gitlab-token serviceAccount:thoth-mcp-sa@my-project.iam.gserviceaccount.com
    """
    name, member = _name(name), _check(validate.check_member, member, allow_public=allow_public)
    _change_access(ctx, "grant", name, member, role=_check(validate.check_role, role))


@app.command("revoke")
def revoke_cmd(
    ctx: typer.Context,
    name: str = NAME_ARG,
    member: str = typer.Argument(..., help=MEMBER_HELP),
    role: str = typer.Option(ACCESSOR_ROLE, "--role", help="Role to revoke."),
    condition: str | None = typer.Option(
        None, "--condition", help="Revoke it from the conditional binding(s) with this title."
    ),
    all_conditions: bool = typer.Option(
        False, "--all-conditions", help="Revoke it from every binding, conditional ones too."
    ),
) -> None:
    """Revoke a member's role on one secret; other bindings are kept.

    An etag read-modify-write of the secret's IAM policy, retried when someone else changes it at
    the same time; revoking a role not held changes nothing. Bindings with an IAM condition are
    revoked only with --condition TITLE or --all-conditions, and what stays is named.

    Example: thothctl secrets revoke gitlab-token user:alice@example.com
    """
    name, member = _name(name), _check(validate.check_member, member, allow_public=True)
    kw = {"condition": condition, "all_conditions": all_conditions}
    _change_access(ctx, "revoke", name, member, role=_check(validate.check_role, role), **kw)
