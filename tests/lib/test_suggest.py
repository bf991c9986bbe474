"""Did you mean…? The closest names for a typo, an env-var spelling as a hint, and the one
message for an unknown name."""

from __future__ import annotations

from thothctl import suggest

SECRETS = ["gitlab-token", "gitlab-url", "google-application-credentials"]
JOBS = ["daily-sync", "hourly-incremental-sync"]


def test_a_typo_gets_the_closest_name_only():
    assert suggest.did_you_mean("gitlab-tokn", SECRETS) == "did you mean gitlab-token?"
    assert suggest.did_you_mean("daily", JOBS) == "did you mean daily-sync?"  # a prefix
    assert suggest.did_you_mean("hourly", JOBS) == "did you mean hourly-incremental-sync?"
    assert suggest.did_you_mean("zzz", JOBS) is None


def test_an_env_var_spelling_names_its_secret():
    env = {"GITLAB_BASE_URL": "gitlab-url"}
    assert suggest.did_you_mean("GITLAB_BASE_URL", SECRETS, env_vars=env) == (
        "did you mean gitlab-url (the secret behind $GITLAB_BASE_URL)?"
    )
    # without the config's mapping, the spelling still folds onto the name
    assert suggest.did_you_mean("GITLAB_TOKEN", SECRETS) == "did you mean gitlab-token?"


def test_an_unknown_name_lists_the_valid_ones():
    message, hint = suggest.unknown("job", "daily", JOBS)
    assert message == "unknown job 'daily': the jobs are daily-sync and hourly-incremental-sync"
    assert hint == "did you mean daily-sync?"
    assert suggest.unknown("environment", "x", ["prod"])[0] == (
        "unknown environment 'x': the only environment is prod"
    )
    assert suggest.unknown("job", "x", []) == ("unknown job 'x': there are no jobs", None)
