"""Google's HTTP/JSON (REST) surface of the emulated APIs, beside gRPC (docs/emulator.md, "REST").

:class:`RestServer` listens; :mod:`routes` derives the route table from the ``google.api.http``
rules the client libraries ship; :mod:`transcode` maps HTTP/JSON to the RPC messages and back;
:mod:`knative` is Cloud Run's v1 (Knative) surface that gcloud's ``run`` commands use.
"""

from thothctl.emulator.rest.http import RestServer

__all__ = ["RestServer"]
