"""Emulated Cloud Scheduler: ``service`` (the wire), ``model`` (jobs: names, validation,
defaults, one method per operation) and ``executor`` (the clock, the HTTP attempts, the retries).
docs/emulator.md, "Cloud Scheduler".
"""
