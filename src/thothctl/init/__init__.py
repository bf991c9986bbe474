"""``thothctl init``: plan every resource of the config against live state (:mod:`.plan`, with the
first secret values from :mod:`.values`), then apply the plan's steps (:mod:`.apply`) with the
generic engine :mod:`thothctl.plan`. ``thothctl jobs apply`` runs the same plan, filtered."""
