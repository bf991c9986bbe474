"""Cloud Run Admin API v1 (placeholder)."""

from __future__ import annotations


def routes(emu):
    return []
