"""Logging helpers that keep PHI out of logs and error reports (ASVS 16.2.5)."""

from __future__ import annotations

import logging

from django.views.debug import SafeExceptionReporterFilter

from accounts import context


class RequestIdFilter(logging.Filter):
    """Adds who and where to every record: the request id, the signed-in user's id and their site's
    id (ids only, never a name; "-" outside a request or before sign-in)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = context.current()
        record.request_id = ctx.request_id or "-"
        record.user_id = ctx.user_id if ctx.user_id is not None else "-"
        record.location_id = ctx.location_id if ctx.location_id is not None else "-"
        return True


class PhiSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports carry no request data at all: every POST value may be PHI."""

    def get_post_parameters(self, request):
        if request is None:
            return {}
        return {key: self.cleansed_substitute for key in request.POST}

    def get_traceback_frame_variables(self, request, tb_frame):
        return [(name, self.cleansed_substitute) for name, _ in tb_frame.f_locals.items()]
