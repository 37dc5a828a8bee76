"""The ledger's part of documents: each infusion record lists the session's ketamine entries
(registered with documents as a part of the infusions app's kind)."""

from __future__ import annotations

from typing import Any

from controlled_substances.selectors import session_entries
from documents import registry
from documents.models import DocumentKind
from documents.snapshots import local_text, user_text


def ketamine_part(session) -> list[dict[str, Any]]:
    """The session's ledger entries: each draw with its vial and lot, each waste with its witness,
    reversals included (21 CFR 1304.22(c) wants the record as it stands, corrections visible)."""
    return [
        {
            "kind": e.get_kind_display(),
            "time": local_text(e.occurred_at, "TIME_FORMAT"),
            "vial": e.container.code,
            "lot": e.container.lot.lot_number,
            "product": str(e.container.lot.product),
            "volume_ml": e.quantity_ml,
            "mg": e.quantity_mg,
            "by": user_text(e.actor),
            "witness": user_text(e.witness),
            "manner": e.manner,
            "reason": e.reason,
            "reversed": e.is_reversed,
        }
        for e in session_entries(session)
    ]


registry.register_part(DocumentKind.INFUSION_RECORD, "ketamine", ketamine_part)
