"""Shared row-history decorator."""

import pghistory


def _tracked():
    """pghistory tracker instances bind to one model each: make fresh ones per model."""
    return pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
