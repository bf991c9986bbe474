"""Emulated Secret Manager: ``service`` (the wire), ``model`` (rules and state, one method per
operation) and ``filter`` (the List filter language). docs/emulator.md, "Secret Manager".
"""
