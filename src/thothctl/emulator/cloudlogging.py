"""Emulated service module (filled in by its issue)."""

SERVICES: list = []
