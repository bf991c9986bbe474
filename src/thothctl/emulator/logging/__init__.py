"""Emulated Cloud Logging: ``service`` (the RPCs and the entry store) and ``filter`` (the
Logging query language). docs/emulator.md, "Cloud Logging".

Imported by absolute name only (``thothctl.emulator.logging``); it never shadows the standard
library's ``logging``, which every module here imports absolutely.
"""
