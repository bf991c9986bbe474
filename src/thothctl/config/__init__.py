"""The thothctl configuration. One field table drives every use of it:

* ``schema``   the field table (key, type, check, range or allowed values, default, meaning), the
               built-in Thoth secrets and jobs, and the typed result (Config, SecretSpec, JobSpec)
* ``load``     reading the layers (defaults, gcloud, thothctl.toml, [env.NAME], env vars, flags),
               resolving the project, and checking every value against the table
* ``template`` the ``config init`` template, the ``config show`` rows, the docs reference rows
* ``names``    the names shell completion offers (secrets, jobs, environments, APIs)

Import the public names from here (``from thothctl.config import Config, load_config``). They
load on first use, so importing this package (the CLI does, to build its commands) costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the module of this package that defines it
_HOMES: dict[str, str] = {
    **dict.fromkeys(
        (
            "CONFIG_FILENAME",
            "EMULATOR_PROJECT",
            "build",
            "check_value",
            "find_config_file",
            "gcloud_config_dir",
            "load_config",
            "read_gcloud_config",
            "emulator_host",
            "read_toml",
            "refuse_empty",
            "refuse_empty_inputs",
        ),
        "load",
    ),
    **dict.fromkeys(
        (
            "BUILTIN_JOBS",
            "BUILTIN_SECRETS",
            "DEFAULTS",
            "ENV_OVERRIDES",
            "JOBS",
            "JOB_KEYS",
            "REQUIRED",
            "SECRETS",
            "SECRET_FORMATS",
            "SECRET_KEYS",
            "SOURCE_DEFAULT",
            "TABLES",
            "TOP_FIELDS",
            "TOP_KEYS",
            "Config",
            "Derived",
            "Field",
            "JobSpec",
            "RetrySpec",
            "Rule",
            "SecretSpec",
            "Table",
            "fill_defaults",
        ),
        "schema",
    ),
    **dict.fromkeys(("describe", "reference_rows", "render_template", "show_rows"), "template"),
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
