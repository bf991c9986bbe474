"""Permission denied: thothctl names the permission, the resource and a role that grants it,
exits 1 (issue #8; exit 4 is for missing credentials), and leaves nothing half-applied:
a command that needs several writes checks what it may do before its first write (where the API
offers TestIamPermissions: Secret Manager secrets and the Cloud Run service; Cloud Scheduler has
none for a location, so a denied CreateJob after the account and grant were made is finished by
the re-run)."""

from __future__ import annotations

import pytest
from reliability_helpers import SERVICE, P, enable_all, snapshot


@pytest.fixture
def project(enabled_apis, clients, cli):
    enable_all(enabled_apis)
    assert cli("secrets", "create", "gitlab-token").exit_code == 0
    for i in range(3):
        assert cli("secrets", "set", "gitlab-token", "-", input=f"v{i}\n").exit_code == 0
    enabled_apis.calls.reset()
    return enabled_apis


CASES = [
    (
        "grant",
        ("secrets", "grant", "gitlab-token", "user:a@example.com"),
        "secretmanager.secrets.setIamPolicy",
        f"{P}/secrets/gitlab-token",
        "roles/secretmanager.admin",
    ),
    (
        "set",
        ("secrets", "set", "gitlab-token", "-"),
        "secretmanager.versions.add",
        f"{P}/secrets/gitlab-token",
        "roles/secretmanager.secretVersionAdder",
    ),
    (
        "rotate-disable",
        ("secrets", "rotate", "gitlab-token", "-"),
        "secretmanager.versions.disable",
        f"{P}/secrets/gitlab-token",
        "roles/secretmanager.secretVersionManager",
    ),
    (
        "jobs-apply-invoker",
        ("jobs", "apply", "--yes"),
        "run.services.setIamPolicy",
        SERVICE,
        "roles/run.admin",
    ),
    (
        "init-invoker",
        ("init", "--yes", "--no-input"),
        "run.services.setIamPolicy",
        "thoth-mcp-server",
        "roles/run.admin",
    ),
]


@pytest.mark.parametrize(
    ("args", "permission", "resource", "role"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_denied_permission_is_named_with_a_role_and_nothing_is_half_applied(
    cli, project, clients, args, permission, resource, role
):
    before = snapshot(clients)
    project.calls.reset()
    project.denied.add(permission)
    result = cli(*args, input="new-value\n", env={"GITLAB_TOKEN": "t"})
    project.denied.clear()
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error: ")]
    assert errors, result.stderr
    line = errors[0]
    assert permission in line and resource in line and role in line, line
    assert snapshot(clients) == before
    assert [c.method for c in project.calls.snapshot() if c.mutating and c.code == "OK"] == []
