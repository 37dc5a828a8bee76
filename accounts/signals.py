"""Sign-in events go to the audit trail (ASVS 16.3.1)."""

from __future__ import annotations

import time

from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_save, pre_delete

from accounts import audit
from accounts.access_cache import access_changed
from accounts.middleware import LAST_ACTIVITY_KEY, SESSION_STARTED_KEY
from accounts.models import AuditEvent, User
from core.audit import Category, Verb


def _on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_KEY] = request.session[LAST_ACTIVITY_KEY] = time.time()
    audit.record(actor=user, action="accounts.user.signed_in", verb=Verb.LOGIN, category=Category.SECURITY)


def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        audit.record(actor=user, action="accounts.user.signed_out", verb=Verb.LOGOUT, category=Category.SECURITY)


def _on_login_failed(sender, credentials, request=None, **kwargs):
    # Only the username typed is kept, never the password.
    audit.record(
        actor=None,
        action="accounts.user.sign_in_failed",
        verb=Verb.LOGIN_FAILED,
        category=Category.SECURITY,
        outcome=AuditEvent.Outcome.DENIED,
        changes={"username": str(credentials.get("username", ""))[:150]},
    )


# Sessions keep their role and permissions (accounts.access_cache) until one of these changes them.


def _user_m2m_changed(sender, instance, action, reverse, pk_set, **kwargs):
    # A clear sends no ids after the fact: take them before (pre_clear), as for an add or remove after.
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:  # user.groups.add(...), user.user_permissions.remove(...)
        access_changed(user_ids=[instance.pk])
    elif isinstance(instance, Group):  # group.user_set.add(...)
        access_changed(user_ids=pk_set or [], group_ids=[instance.pk] if action == "pre_clear" else [])
    else:  # permission.user_set.remove(...)
        ids = pk_set if action != "pre_clear" else instance.user_set.values_list("pk", flat=True)
        access_changed(user_ids=ids or [])


def _group_permissions_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "pre_clear"):
        return
    if not reverse:  # group.permissions.add(...)
        access_changed(group_ids=[instance.pk])
    else:  # permission.group_set.add(...)
        ids = pk_set if action != "pre_clear" else instance.group_set.values_list("pk", flat=True)
        access_changed(group_ids=ids or [])


def _group_saved(sender, instance, created, **kwargs):
    if not created:  # a renamed group may name another role
        access_changed(group_ids=[instance.pk])


def _group_deleted(sender, instance, **kwargs):
    access_changed(group_ids=[instance.pk])


def _permission_deleted(sender, instance, **kwargs):
    access_changed(
        user_ids=instance.user_set.values_list("pk", flat=True),
        group_ids=instance.group_set.values_list("pk", flat=True),
    )


def connect() -> None:
    m2m_changed.connect(_user_m2m_changed, sender=User.groups.through, dispatch_uid="grace_access_user_groups")
    m2m_changed.connect(
        _user_m2m_changed, sender=User.user_permissions.through, dispatch_uid="grace_access_user_permissions"
    )
    m2m_changed.connect(
        _group_permissions_changed, sender=Group.permissions.through, dispatch_uid="grace_access_group_permissions"
    )
    post_save.connect(_group_saved, sender=Group, dispatch_uid="grace_access_group_saved")
    pre_delete.connect(_group_deleted, sender=Group, dispatch_uid="grace_access_group_deleted")
    pre_delete.connect(_permission_deleted, sender=Permission, dispatch_uid="grace_access_permission_deleted")
    user_logged_in.connect(_on_login, dispatch_uid="grace_audit_login")
    user_logged_out.connect(_on_logout, dispatch_uid="grace_audit_logout")
    user_login_failed.connect(_on_login_failed, dispatch_uid="grace_audit_login_failed")
