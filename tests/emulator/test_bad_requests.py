"""Malformed requests get INVALID_ARGUMENT, as Google answers them: never INTERNAL, never an item
the caller did not ask for."""

from __future__ import annotations

import base64

import pytest
from google.api_core import exceptions as gexc

PARENT = "projects/thoth-local"


@pytest.fixture
def apis(enabled_apis):
    return enabled_apis


@pytest.mark.parametrize(
    "depth_filter",
    [
        "(" * 500 + 'severity="ERROR"' + ")" * 500,
        "NOT " * 500 + 'severity="ERROR"',
        "-" * 500 + 'severity="ERROR"',
    ],
    ids=["parentheses", "NOT", "minus"],
)
def test_a_deeply_nested_log_filter_is_invalid_argument(clients, apis, depth_filter):
    with pytest.raises(gexc.InvalidArgument, match="nests deeper than 64 levels"):
        list(
            clients.logging.raw.list_log_entries(
                request={"resource_names": [PARENT], "filter": depth_filter}, retry=None
            )
        )


def test_a_log_filter_nested_within_the_limit_is_answered(clients, apis):
    nested = "(" * 60 + 'severity>="DEFAULT"' + ")" * 60
    clients.logging.raw.list_log_entries(
        request={"resource_names": [PARENT], "filter": nested}, retry=None
    )


def _token(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "token",
    [_token("o:-2"), _token("o:-0"), _token("x:1"), _token("o:1.5"), _token("o:١"), "%%%", "o:1"],
    ids=["negative", "minus-zero", "other-kind", "fraction", "arabic-digit", "not-base64", "plain"],
)
def test_a_forged_page_token_is_invalid_argument(clients, apis, token):
    sm = clients.secrets.raw
    for sid in ("a", "b", "c"):
        sm.create_secret(
            request={
                "parent": PARENT,
                "secret_id": sid,
                "secret": {"replication": {"automatic": {}}},
            }
        )
    with pytest.raises(gexc.InvalidArgument, match="Invalid page token"):
        sm.list_secrets(request={"parent": PARENT, "page_size": 1, "page_token": token}, retry=None)
    with pytest.raises(gexc.InvalidArgument, match="Invalid page token"):
        clients.scheduler.raw.list_jobs(
            request={"parent": f"{PARENT}/locations/us-central1", "page_token": token}, retry=None
        )


def test_page_tokens_the_emulator_issued_still_page_through(clients, apis):
    sm = clients.secrets.raw
    for sid in ("a", "b", "c"):
        sm.create_secret(
            request={
                "parent": PARENT,
                "secret_id": sid,
                "secret": {"replication": {"automatic": {}}},
            }
        )
    names = [
        s.name.rsplit("/", 1)[1]
        for s in sm.list_secrets(request={"parent": PARENT, "page_size": 1})
    ]
    assert names == ["c", "b", "a"]


@pytest.mark.parametrize("depth", [50, 100_000])
def test_a_deeply_nested_rest_body_is_invalid_argument(apis, depth):
    import json
    import urllib.error
    import urllib.request

    body = '{"labels":' * depth + "1" + "}" * depth
    url = f"http://{apis.rest_address}/v1/{PARENT}/secrets?secretId=nested"
    request = urllib.request.Request(
        url, data=body.encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=30)
    error = json.loads(answer.value.read())["error"]
    assert (answer.value.code, error["status"]) == (400, "INVALID_ARGUMENT"), error
