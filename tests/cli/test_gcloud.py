"""gcloud works against the emulator, unchanged, and agrees with thothctl and the gRPC side.

One story per API group drives many gcloud commands (each costs a second or so), then reads the
same state through the official gRPC clients, thothctl and plain HTTP. gcloud runs with an
isolated CLOUDSDK_CONFIG, a dummy access-token file, the emulator's endpoint overrides and the
emulator's REST listener as its proxy (``rest.gcloud_env``): nothing can reach Google. Skipped
where gcloud is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest
import requests

from thothctl.emulator.rest import gcloud_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("gcloud") is None, reason="gcloud is not installed"),
]

P = "projects/thoth-local"
REGION = "us-central1"
LOC = f"{P}/locations/{REGION}"
SERVICE = f"{LOC}/services/thoth-mcp-server"
RUNTIME = "thoth-mcp-sa@thoth-local.iam.gserviceaccount.com"
SCHEDULER = "thoth-scheduler@thoth-local.iam.gserviceaccount.com"
APIS = ["secretmanager", "cloudscheduler", "run", "iam", "logging"]


@pytest.fixture
def gcloud(emulator, tmp_path):
    token = tmp_path / "token"
    token.write_text("emulator-dummy-token\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSDK_")}
    env.update(
        gcloud_env(emulator.rest_address),
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud-config"),
        CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=str(token),
        CLOUDSDK_CORE_PROJECT="thoth-local",
        CLOUDSDK_CORE_DISABLE_PROMPTS="1",
        CLOUDSDK_CORE_DISABLE_USAGE_REPORTING="true",
        CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK="true",
        CLOUDSDK_SURVEY_DISABLE_PROMPTS="true",
        CLOUDSDK_CORE_CHECK_GCE_METADATA="false",
    )
    env.pop("NO_PROXY", None), env.pop("no_proxy", None)
    emulator.control_ops()["scheduler_config"]({"auto": False, "time_scale": 0.01})

    def run(*args: str, stdin: str | None = None, fmt: str | None = "json"):
        argv = ["gcloud", *args] + ([f"--format={fmt}"] if fmt else [])
        done = subprocess.run(
            argv, env=env, input=stdin, capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
        assert done.returncode == 0, (args, done.stderr)
        return json.loads(done.stdout) if fmt == "json" and done.stdout.strip() else done.stdout

    return run


def enable_quickly(emulator) -> None:
    names = [f"{a}.googleapis.com" for a in APIS]
    emulator.control_ops()["apis_set"]({"project": "thoth-local", "enable": names})


def enable(gcloud, *apis: str) -> None:
    gcloud("services", "enable", *[f"{a}.googleapis.com" for a in apis], fmt=None)


def test_secrets_with_gcloud_agree_with_thothctl_and_plain_http(gcloud, clients, cli, emulator):
    enable_quickly(emulator)
    gcloud(
        "secrets",
        "create",
        "gitlab-token",
        "--replication-policy=automatic",
        "--data-file=-",
        stdin="glpat-one",
        fmt=None,
    )
    gcloud("secrets", "versions", "add", "gitlab-token", "--data-file=-", stdin="glpat-two")
    assert gcloud("secrets", "versions", "access", "latest", "--secret=gitlab-token", fmt=None) == (
        "glpat-two"
    )
    gcloud("secrets", "versions", "disable", "1", "--secret=gitlab-token")
    gcloud(
        "secrets",
        "add-iam-policy-binding",
        "gitlab-token",
        f"--member=serviceAccount:{RUNTIME}",
        "--role=roles/secretmanager.secretAccessor",
    )
    described = gcloud("secrets", "describe", "gitlab-token")
    [listed] = gcloud("secrets", "list")
    policy = gcloud("secrets", "get-iam-policy", "gitlab-token")

    name = f"{P}/secrets/gitlab-token"
    grpc_secret = clients.secrets.get_secret(name=name)
    assert described["name"] == listed["name"] == grpc_secret.name
    assert described["etag"] == grpc_secret.etag
    states = {
        v.name.rsplit("/", 1)[1]: v.state.name
        for v in clients.secrets.list_secret_versions(parent=name)
    }
    assert states == {"1": "DISABLED", "2": "ENABLED"}
    assert policy["bindings"] == [
        {"role": "roles/secretmanager.secretAccessor", "members": [f"serviceAccount:{RUNTIME}"]}
    ]
    raw = requests.get(f"http://{emulator.rest_address}/v1/{name}", timeout=10).json()
    assert raw == described
    shown = cli("secrets", "list", "-o", "json")
    assert shown.exit_code == 0, shown.output
    assert "gitlab-token" in shown.stdout and "glpat" not in shown.stdout


def test_iam_and_cloud_run_v1_with_gcloud(gcloud, clients, emulator):
    enable_quickly(emulator)
    gcloud(
        "iam",
        "service-accounts",
        "create",
        "thoth-scheduler",
        "--display-name=Thoth Cloud Scheduler",
    )
    account = gcloud("iam", "service-accounts", "describe", SCHEDULER)
    assert account["displayName"] == "Thoth Cloud Scheduler"
    assert (
        clients.iam.get_service_account(
            request={"name": f"{P}/serviceAccounts/{SCHEDULER}"}
        ).unique_id
        == account["uniqueId"]
    )

    knative = gcloud("run", "services", "describe", "thoth-mcp-server", f"--region={REGION}")
    v2 = clients.run.get_service(name=SERVICE)
    assert knative["status"]["url"] == v2.uri
    spec = knative["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == v2.template.service_account == RUNTIME
    assert spec["containers"][0]["image"] == v2.template.containers[0].image
    gcloud(
        "run",
        "services",
        "add-iam-policy-binding",
        "thoth-mcp-server",
        f"--region={REGION}",
        f"--member=serviceAccount:{SCHEDULER}",
        "--role=roles/run.invoker",
    )
    policy = gcloud("run", "services", "get-iam-policy", "thoth-mcp-server", f"--region={REGION}")
    assert policy["bindings"] == [
        {"role": "roles/run.invoker", "members": [f"serviceAccount:{SCHEDULER}"]}
    ]
    [binding] = clients.run.get_iam_policy(request={"resource": SERVICE}).bindings
    assert list(binding.members) == [f"serviceAccount:{SCHEDULER}"]


def test_scheduler_jobs_and_logs_with_gcloud(gcloud, clients, emulator):
    enable_quickly(emulator)
    url = clients.run.get_service(name=SERVICE).uri
    loc = f"--location={REGION}"
    gcloud(
        "scheduler",
        "jobs",
        "create",
        "http",
        "thoth-daily-sync",
        loc,
        "--schedule=0 2 * * *",
        "--time-zone=UTC",
        f"--uri={url}/sync",
        "--http-method=POST",
        f"--oidc-service-account-email={RUNTIME}",
        f"--oidc-token-audience={url}",
        "--attempt-deadline=320s",
        "--max-retry-attempts=3",
        "--min-backoff=5s",
        "--max-backoff=3600s",
        "--max-doublings=5",
    )
    gcloud("scheduler", "jobs", "update", "http", "thoth-daily-sync", loc, "--schedule=30 2 * * *")
    job = gcloud("scheduler", "jobs", "describe", "thoth-daily-sync", loc)
    grpc_job = clients.scheduler.get_job(name=f"{LOC}/jobs/thoth-daily-sync")
    assert job["schedule"] == grpc_job.schedule == "30 2 * * *"
    assert job["httpTarget"]["oidcToken"] == {"serviceAccountEmail": RUNTIME, "audience": url}
    assert job["attemptDeadline"] == "320s" and job["retryConfig"]["retryCount"] == 3
    assert [j["name"] for j in gcloud("scheduler", "jobs", "list", loc)] == [grpc_job.name]
    gcloud("scheduler", "jobs", "pause", "thoth-daily-sync", loc, fmt=None)
    assert clients.scheduler.get_job(name=grpc_job.name).state.name == "PAUSED"
    gcloud("scheduler", "jobs", "resume", "thoth-daily-sync", loc, fmt=None)
    assert clients.scheduler.get_job(name=grpc_job.name).state.name == "ENABLED"
    gcloud("scheduler", "jobs", "run", "thoth-daily-sync", loc, fmt=None)
    deadline = time.monotonic() + 20
    while not clients.scheduler.get_job(name=grpc_job.name).last_attempt_time:
        assert time.monotonic() < deadline, "the forced run never finished"
        time.sleep(0.1)
    requests_seen = emulator.control_ops()["stub_requests"]({})  # 403 (no invoker grant), retried
    assert requests_seen and {(r["email"], r["path"]) for r in requests_seen} == {
        (RUNTIME, "/sync")
    }
    entries = gcloud("logging", "read", 'logName:"cloudscheduler.googleapis.com"', "--limit=10")
    kinds = {e["jsonPayload"]["@type"].rsplit(".", 1)[1] for e in entries}
    assert kinds == {"AttemptStarted", "AttemptFinished"}
    gcloud("scheduler", "jobs", "delete", "thoth-daily-sync", loc, fmt=None)
    assert list(clients.scheduler.list_jobs(parent=LOC)) == []


def rehearse_runbook(gcloud, url: str, values: dict[str, str], hourly_deadline: str) -> None:
    """Thoth's old bash setup, as gcloud commands: APIs, three secrets with first versions,
    secretAccessor for the runtime account, a scheduler account with run.invoker, two HTTP jobs
    with OIDC."""
    enable(gcloud, "secretmanager", "cloudscheduler", "run", "iam")
    for secret, value in values.items():
        gcloud(
            "secrets",
            "create",
            secret,
            "--replication-policy=automatic",
            "--data-file=-",
            stdin=value,
            fmt=None,
        )
        gcloud(
            "secrets",
            "add-iam-policy-binding",
            secret,
            f"--member=serviceAccount:{RUNTIME}",
            "--role=roles/secretmanager.secretAccessor",
            fmt=None,
        )
    gcloud("iam", "service-accounts", "create", "thoth-scheduler", fmt=None)
    gcloud(
        "run",
        "services",
        "add-iam-policy-binding",
        "thoth-mcp-server",
        f"--region={REGION}",
        f"--member=serviceAccount:{SCHEDULER}",
        "--role=roles/run.invoker",
        fmt=None,
    )
    jobs = [
        (
            "thoth-daily-sync",
            "0 2 * * *",
            '{"scheduled":true,"sync_type":"daily"}',
            "320s",
            ("3", "5s", "3600s", "5"),
            "Thoth daily full sync of the GitLab handbook",
        ),
        (
            "thoth-hourly-incremental-sync",
            "0 * * * *",
            '{"scheduled":true,"sync_type":"incremental","incremental":true}',
            hourly_deadline,
            ("2", "5s", "1800s", "3"),
            "Thoth hourly incremental sync of the GitLab handbook",
        ),
    ]
    for job_id, cron, body, deadline, (tries, low, high, doublings), description in jobs:
        gcloud(
            "scheduler",
            "jobs",
            "create",
            "http",
            job_id,
            f"--location={REGION}",
            f"--schedule={cron}",
            "--time-zone=UTC",
            f"--uri={url}/sync",
            "--http-method=POST",
            "--headers=Content-Type=application/json",
            f"--message-body={body}",
            f"--oidc-service-account-email={SCHEDULER}",
            f"--oidc-token-audience={url}",
            f"--attempt-deadline={deadline}",
            f"--max-retry-attempts={tries}",
            f"--min-backoff={low}",
            f"--max-backoff={high}",
            f"--max-doublings={doublings}",
            f"--description={description}",
            fmt=None,
        )


def test_init_adopts_a_project_set_up_by_a_gcloud_runbook(gcloud, cli, clients, emulator):
    url = clients.run.get_service(name=SERVICE).uri
    ops = emulator.control_ops()  # GitLab is the emulator's, so doctor can ask it about the token
    values = {
        "gitlab-token": ops["gitlab_token_create"]({})["token"],
        "gitlab-url": ops["gitlab_url"]({}),
        "google-application-credentials": '{"type": "service_account"}',
    }
    rehearse_runbook(gcloud, url, values, hourly_deadline="150s")  # the config says 180s

    emulator.calls.reset()
    plan = cli("init", "--dry-run", "-o", "json")
    assert plan.exit_code == 0, plan.output
    steps = plan.json()["plan"]["steps"]
    changed = {s["id"]: s for s in steps if s["action"] != "unchanged"}
    assert list(changed) == ["job:hourly-incremental-sync"]
    assert changed["job:hourly-incremental-sync"]["action"] == "update"
    assert plan.json()["plan"]["summary"]["create"] == 0

    applied = cli("init", "--yes", "--no-input")
    assert applied.exit_code == 0, applied.output
    writes = [c.method.rsplit("/", 1)[1] for c in emulator.calls.snapshot() if c.mutating]
    assert writes == ["UpdateJob"]
    job = clients.scheduler.get_job(name=f"{LOC}/jobs/thoth-hourly-incremental-sync")
    assert job.attempt_deadline.total_seconds() == 180
    again = cli("init", "--dry-run", "-o", "json").json()["plan"]["summary"]
    assert again["create"] == again["update"] == 0
    doctor = cli("doctor", "-o", "json")
    assert doctor.exit_code == 0, doctor.output
    assert doctor.json()["problems"] == 0
