"""Reads for the infusion day: each owns its query shape and is bounded."""
