"""Who may work the inquiry queue: the permission is checked before the inquiry is read, so ids
cannot be probed (403 before 404). A desk scoped to some locations works the inquiries its queue
shows (those naming one of its locations, or none); another location's inquiry is refused, as
another location's appointment is."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from inquiries import selectors
from inquiries.models import Inquiry

VIEW, CHANGE = "inquiries.view_inquiry", "inquiries.change_inquiry"


def get_inquiry_for_user(request, pk: int, *, perm: str = VIEW) -> Inquiry:
    if not request.user.has_perm(perm):
        raise PermissionDenied
    inquiry = selectors.inquiry_detail(pk)
    if inquiry is None:
        raise Http404("No such inquiry.")
    if not selectors.in_their_queue(request.user, inquiry):
        raise PermissionDenied
    return inquiry
