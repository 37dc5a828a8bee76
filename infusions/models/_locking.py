"""Database-level locking shared by the session's child tables (security-reference R8)."""

import pghistory
import pgtrigger


def tracked(**options):
    """pghistory tracker instances bind to one model each: make fresh ones per model."""
    return pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(), **options)


def locked_with_session(name: str, column: str = "session_id") -> pgtrigger.Trigger:
    """Refuse any insert, update or delete of a child row whose session (before or after) is signed."""
    return pgtrigger.Trigger(
        name=name,
        when=pgtrigger.Before,
        operation=pgtrigger.Insert | pgtrigger.Update | pgtrigger.Delete,
        func=f"""
            IF EXISTS (
                SELECT 1 FROM infusions_infusionsession s
                WHERE s.signed_at IS NOT NULL AND s.id IN (
                    CASE WHEN TG_OP <> 'INSERT' THEN OLD.{column} END,
                    CASE WHEN TG_OP <> 'DELETE' THEN NEW.{column} END
                )
            ) THEN
                RAISE EXCEPTION 'signed infusion session: % rows cannot change; record an amendment', TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
            RETURN NEW;
        """,  # noqa: S608 - column is a constant from this module, not input
    )
