"""Google's HTTP/JSON (REST) surface of the emulated APIs, beside gRPC (docs/emulator.md, "REST").

:class:`RestServer` listens; :mod:`routes` derives the route table from the ``google.api.http``
rules the client libraries ship; :mod:`transcode` maps HTTP/JSON to the RPC messages and back;
:mod:`knative` is Cloud Run's v1 (Knative) surface that gcloud's ``run`` commands use.
"""

from thothctl.emulator.rest.http import RestServer

__all__ = ["GCLOUD_APIS", "RestServer", "gcloud_env"]

GCLOUD_APIS = ("SECRETMANAGER", "CLOUDSCHEDULER", "RUN", "IAM", "SERVICEUSAGE", "LOGGING")


def gcloud_env(rest_address: str) -> dict[str, str]:
    """What gcloud needs to use the REST listener at ``rest_address`` (host:port): an endpoint
    override per emulated API, and the listener as gcloud's HTTP proxy. gcloud's ``run`` commands
    call a regional host derived from the override (``http://us-central1-127.0.0.1:PORT/``),
    which only a proxy can answer; the listener answers plain-http requests by their path (taking
    the region from the host) and refuses HTTPS tunnels, so gcloud reaches nothing else."""
    host, port = rest_address.rsplit(":", 1)
    env = {
        f"CLOUDSDK_API_ENDPOINT_OVERRIDES_{api}": f"http://{rest_address}/" for api in GCLOUD_APIS
    }
    env.update(
        CLOUDSDK_PROXY_TYPE="http",
        CLOUDSDK_PROXY_ADDRESS=host.strip("[]"),
        CLOUDSDK_PROXY_PORT=port,
    )
    return env
