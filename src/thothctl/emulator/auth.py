"""How a client authenticates to the emulator (the client side of :mod:`oauth`).

Calls are anonymous, on an insecure loopback channel, unless the emulator asks clients to
authenticate (its ``auth-revoked`` fault shape: the control op ``info`` then names its token
endpoint). A client built then gets google-auth credentials refreshed at that endpoint and a
channel whose metadata plugin refreshes them, exactly the path a real Google call takes: a refused
refresh reaches the caller as the auth library's RefreshError (over gRPC, inside the UNAVAILABLE
"Getting metadata from plugin failed" that gRPC makes of it).
"""

from __future__ import annotations

from typing import Any

LOOPBACK = ("127.", "localhost:", "[::1]:")


def credentials(host: str) -> Any:
    """Credentials for the emulator at ``host`` while it asks for them, else None."""
    from thothctl.emulator import control

    if not host.startswith(LOOPBACK):
        return None  # a local channel (below) reaches only this machine
    try:
        token_uri = control.call(host, "info").get("token_uri")
    except control.ControlError:
        return None  # the first call says what is wrong with the address
    if not token_uri:
        return None
    from google.oauth2 import credentials as oauth2

    name = "thothctl-emulator"
    return oauth2.Credentials(None, name, token_uri=token_uri, client_id=name, client_secret=name)


def token_request() -> Any:
    """google-auth's HTTP transport for refreshes at a loopback address: no proxy from the
    environment (HTTPS_PROXY must not see the emulator's token requests)."""
    import requests
    from google.auth.transport import requests as auth_requests

    session = requests.Session()
    session.trust_env = False
    return auth_requests.Request(session)


def channel(host: str, creds: Any, options: list[tuple[str, Any]]) -> Any:
    """A gRPC channel to the emulator: insecure, or carrying ``creds`` when given."""
    import grpc

    if creds is None:
        return grpc.insecure_channel(host, options=options)
    from google.auth.transport import grpc as auth_grpc

    local = grpc.local_channel_credentials()
    return auth_grpc.secure_authorized_channel(
        creds, token_request(), host, ssl_credentials=local, options=options
    )
