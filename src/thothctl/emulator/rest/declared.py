"""HTTP rules for the emulated APIs whose Python client library ships none.

``google-cloud-iam`` (``iam_admin_v1``) and ``google-cloud-logging`` (``logging_v2``) are gRPC-only:
their packages carry neither a REST transport nor the service descriptors with the
``google.api.http`` options. These are the rules of ``google/iam/admin/v1/iam.proto`` and
``google/logging/v2/logging.proto`` for the RPCs the emulator serves, in the form the GAPIC
generator writes them (``{"method", "uri", "body"}``), so :mod:`routes` treats them like the
derived ones. Only the project-scoped bindings are listed (folders, organizations and billing
accounts are not emulated).
"""

from __future__ import annotations

IAM = "google.iam.admin.v1.IAM"
LOGGING = "google.logging.v2.LoggingServiceV2"
_SA = "projects/*/serviceAccounts/*"

RULES: dict[str, dict[str, list[dict[str, str]]]] = {
    IAM: {
        "ListServiceAccounts": [{"method": "get", "uri": "/v1/{name=projects/*}/serviceAccounts"}],
        "GetServiceAccount": [{"method": "get", "uri": f"/v1/{{name={_SA}}}"}],
        "CreateServiceAccount": [
            {"method": "post", "uri": "/v1/{name=projects/*}/serviceAccounts", "body": "*"}
        ],
        "PatchServiceAccount": [
            {"method": "patch", "uri": f"/v1/{{service_account.name={_SA}}}", "body": "*"}
        ],
        "DeleteServiceAccount": [{"method": "delete", "uri": f"/v1/{{name={_SA}}}"}],
        "EnableServiceAccount": [
            {"method": "post", "uri": f"/v1/{{name={_SA}}}:enable", "body": "*"}
        ],
        "DisableServiceAccount": [
            {"method": "post", "uri": f"/v1/{{name={_SA}}}:disable", "body": "*"}
        ],
        "GetIamPolicy": [{"method": "post", "uri": f"/v1/{{resource={_SA}}}:getIamPolicy"}],
        "SetIamPolicy": [
            {"method": "post", "uri": f"/v1/{{resource={_SA}}}:setIamPolicy", "body": "*"}
        ],
        "TestIamPermissions": [
            {"method": "post", "uri": f"/v1/{{resource={_SA}}}:testIamPermissions", "body": "*"}
        ],
    },
    LOGGING: {
        "DeleteLog": [{"method": "delete", "uri": "/v2/{log_name=projects/*/logs/*}"}],
        "WriteLogEntries": [{"method": "post", "uri": "/v2/entries:write", "body": "*"}],
        "ListLogEntries": [{"method": "post", "uri": "/v2/entries:list", "body": "*"}],
        "ListLogs": [{"method": "get", "uri": "/v2/{parent=projects/*}/logs"}],
    },
}
