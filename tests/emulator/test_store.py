"""The emulator's state file: an SQLite database that holds every acknowledged change, reads the
JSON files of earlier versions (converting them in place), never imports a module a file names,
and refuses, without touching it, a file it cannot use."""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

from thothctl.emulator.server import Emulator
from thothctl.emulator.statefile import SQLITE_MAGIC
from thothctl.emulator.store import StateFileError

PARENT = "projects/thoth-local"
LOC = f"{PARENT}/locations/us-central1"
DATA = Path(__file__).parent / "data"


def _clients(emu):
    from thothctl.clients import Clients, ClientSettings

    return Clients(ClientSettings(project="thoth-local", emulator_host=emu.address))


def _rows(path: Path) -> dict[str, dict[str, object]]:
    """The rows of a database no emulator has open."""
    db = sqlite3.connect(path)
    try:
        rows: dict[str, dict[str, object]] = {}
        for tbl, key, value in db.execute("SELECT tbl, key, value FROM rows"):
            rows.setdefault(tbl, {})[key] = json.loads(value)
        return rows
    finally:
        db.close()


def _message_names(value):
    if isinstance(value, dict):
        for kind in ("$pb", "$proto"):
            if kind in value:
                yield value[kind]
        for item in value.values():
            yield from _message_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _message_names(item)


def _workload(emu) -> None:
    """A bit of everything: operations, secrets and versions, IAM, jobs and their executions,
    a Cloud Run update, log entries, a service account."""
    c = _clients(emu)
    try:
        c.wait(
            c.serviceusage.batch_enable_services(
                request={
                    "parent": PARENT,
                    "service_ids": [
                        "secretmanager.googleapis.com",
                        "cloudscheduler.googleapis.com",
                    ],
                }
            )
        )
        emu.control_ops()["apis_set"]({"enable": ["iam.googleapis.com"]})
        sm = c.secrets.raw
        sm.create_secret(
            request={
                "parent": PARENT,
                "secret_id": "s",
                "secret": {"replication": {"automatic": {}}},
            }
        )
        for value in (b"one", b"two"):
            sm.add_secret_version(
                request={"parent": f"{PARENT}/secrets/s", "payload": {"data": value}}
            )
        sm.disable_secret_version(request={"name": f"{PARENT}/secrets/s/versions/1"})
        policy = sm.get_iam_policy(request={"resource": f"{PARENT}/secrets/s"})
        policy.bindings.add(
            role="roles/secretmanager.secretAccessor", members=["user:a@example.com"]
        )
        sm.set_iam_policy(request={"resource": f"{PARENT}/secrets/s", "policy": policy})
        url = emu.control_ops()["stub_url"]({})
        job = c.scheduler.raw.create_job(
            request={
                "parent": LOC,
                "job": {
                    "name": f"{LOC}/jobs/j",
                    "schedule": "0 3 * * *",
                    "http_target": {"uri": url + "/sync"},
                },
            }
        )
        c.scheduler.raw.pause_job(request={"name": job.name})
        c.iam.raw.create_service_account(
            request={"name": PARENT, "account_id": "robot-one", "service_account": {}}
        )
        emu.control_ops()["logs_write"](
            {
                "project_id": "thoth-local",
                "log_id": "t",
                "resource_type": "global",
                "text_payload": "x",
            }
        )
    finally:
        c.close()


def test_every_change_is_in_the_database_before_the_call_is_answered(tmp_path):
    data = tmp_path / "emu.db"
    emu = Emulator(data_file=data, operation_ms=0)
    emu.start("127.0.0.1", 0)
    try:
        _workload(emu)
        with emu.store.lock:  # what the emulator holds, and what its database holds
            memory = {
                name: {str(k): json.loads(emu.store._dumps(v)) for k, v in dict.items(tbl)}
                for name, tbl in emu.store.tables.items()
                if tbl
            }
            stored: dict[str, dict[str, object]] = {}
            for tbl, key, value in emu.store._db.execute("SELECT tbl, key, value FROM rows"):
                stored.setdefault(tbl, {})[key] = json.loads(value)
    finally:
        emu.stop()
    assert stored == memory
    assert {"secretmanager.secrets", "scheduler.jobs", "operations", "logging.entries"} <= set(
        stored
    )


def test_a_stopped_emulator_leaves_only_its_database(tmp_path):
    data = tmp_path / "emu.db"
    stale = tmp_path / ".emu.db.new-999999999"  # a temporary database of a crashed run
    stale.write_bytes(b"secret payload")
    emu = Emulator(data_file=data, operation_ms=0)
    emu.start("127.0.0.1", 0)
    _workload(emu)
    emu.stop()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emu.db"]
    assert data.read_bytes().startswith(SQLITE_MAGIC)


def test_a_second_emulator_cannot_open_a_database_in_use(tmp_path):
    data = tmp_path / "emu.db"
    first = Emulator(data_file=data)
    try:
        with pytest.raises(StateFileError, match="another emulator process has it open"):
            Emulator(data_file=data)
    finally:
        first.store.stop()


def test_the_database_names_messages_by_their_proto_full_name(tmp_path):
    data = tmp_path / "emu.db"
    Emulator(data_file=data).store.stop()
    names = set(_message_names(_rows(data)))
    assert {"google.cloud.run.v2.Service", "google.iam.v1.Policy"} <= names
    assert all(":" not in name for name in names), names


def test_pending_operations_complete_after_a_restart(tmp_path):
    data = tmp_path / "emu.db"
    first = Emulator(data_file=data, operation_ms=60_000)
    first.start("127.0.0.1", 0)
    c1 = _clients(first)
    op = c1.serviceusage.enable_service(
        request={"name": f"{PARENT}/services/pubsub.googleapis.com"}
    )
    assert not op.done()
    name = op.operation.name
    c1.close()
    first.stop()

    db = sqlite3.connect(data)  # its time has come while the emulator was down
    (value,) = db.execute("SELECT value FROM rows WHERE tbl = 'operations' AND key = ?", (name,))
    row = json.loads(value[0])
    row["done_at"] = 0
    db.execute("UPDATE rows SET value = ? WHERE key = ?", (json.dumps(row), name))
    db.commit()
    db.close()
    second = Emulator(data_file=data)
    second.start("127.0.0.1", 0)
    c2 = _clients(second)
    try:
        svc = c2.serviceusage.get_service(
            request={"name": f"{PARENT}/services/pubsub.googleapis.com"}
        )
        assert svc.state.name == "ENABLED"
    finally:
        c2.close()
        second.stop()


def test_json_state_files_of_earlier_versions_are_read_and_converted(tmp_path):
    # format 1 named Python class paths; format 2 (JSON) named proto full names
    v1 = tmp_path / "v1.json"
    shutil.copy(DATA / "state-v1.json", v1)
    emu = Emulator(data_file=v1, operation_ms=0)
    emu.start("127.0.0.1", 0)
    c = _clients(emu)
    try:
        secret = f"{PARENT}/secrets/gitlab-token"
        payload = c.secrets.access_secret_version(request={"name": f"{secret}/versions/latest"})
        assert payload.payload.data == b"glpat-old-format"
        job = c.scheduler.get_job(request={"name": f"{LOC}/jobs/daily-sync"})
        assert job.schedule == "0 2 * * *"
        v2 = tmp_path / "v2.json"
        with emu.store.lock:
            tables = {
                n: {k: emu.store._encode(v) for k, v in t.items()}
                for n, t in emu.store.tables.items()
            }
        v2.write_text(json.dumps({"version": 2, "tables": tables}))
    finally:
        c.close()
        emu.stop()
    assert v1.read_bytes().startswith(SQLITE_MAGIC), "converted in place"
    assert "scheduler.jobs" in _rows(v1)
    again = Emulator(data_file=v2)
    try:
        assert f"{LOC}/jobs/daily-sync" in again.store.table("scheduler.jobs")
    finally:
        again.store.stop()
    assert v2.read_bytes().startswith(SQLITE_MAGIC)


@pytest.mark.parametrize(
    "named",
    [
        {"$pb": "thothctl_no_such_module:Thing", "b64": ""},  # format 1: a class path
        {"$proto": "thothctl_no_such_module.Thing", "b64": ""},  # a full name nobody knows
    ],
)
def test_loading_never_imports_a_module_the_state_file_names(tmp_path, named):
    data = tmp_path / "emu.json"
    data.write_text(json.dumps({"version": 2, "tables": {"x": {"a": named}}}))
    before = data.read_bytes()
    with pytest.raises(StateFileError, match="thothctl_no_such_module"):
        Emulator(data_file=data)
    assert not any(m.startswith("thothctl_no_such_module") for m in sys.modules)
    assert data.read_bytes() == before, "a file that cannot be read is never overwritten"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emu.json"]
