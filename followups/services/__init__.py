"""Writes of the follow-up stage. Keyword-only, atomic, audited; views, the seeder and
tasks all come through here."""

from __future__ import annotations

from followups.services._common import (  # noqa: F401 - the package's public names
    AUDIT_CATEGORY,
    NOTE_FIELDS,
    VISIT_TYPE_CODES,
    policy_current,
)
from followups.services.alerts import (  # noqa: F401 - the package's public names
    alert_acknowledge,
    alert_seen,
    alerts_escalate_due,
    escalation_recipients,
    on_response_recorded,
    safety_check,
)
from followups.services.boosters import (  # noqa: F401 - the package's public names
    booster_decide,
    booster_evaluate,
)
from followups.services.invitations import (  # noqa: F401 - the package's public names
    MOMENT_FOR_TYPE,
    invitations_send_due,
    site_url,
)
from followups.services.links import (  # noqa: F401 - the package's public names
    LinkRefused,
    NewLink,
    SubmitResult,
    link_create,
    link_exchange,
    link_for_token,
    link_message,
    link_revoke,
    link_send,
    link_usable,
    rate_limited,
    self_report_submit,
)
from followups.services.responses import (  # noqa: F401 - the package's public names
    after_response,
)
from followups.services.visits import (  # noqa: F401 - the package's public names
    alert_viewed,
    patient_panel_viewed,
    visit_amend,
    visit_content,
    visit_open,
    visit_save,
    visit_sign,
    visit_sign_refusal,
    visit_viewed,
)
