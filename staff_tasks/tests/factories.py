from datetime import timedelta

import factory
from django.utils import timezone

from accounts.roles import Role
from accounts.tests.factories import UserFactory
from staff_tasks.models import Task


class TaskFactory(factory.django.DjangoModelFactory):
    """An open call-back for the Nurse role, due in two hours, asked by a front-desk member."""

    class Meta:
        model = Task

    kind = Task.Kind.CALLBACK
    summary = factory.Sequence(lambda n: f"Call back about the appointment time ({n}).")
    assignee = None
    assignee_role = Role.NURSE
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=2))
    created_by = factory.SubFactory(UserFactory, role=Role.FRONT_DESK)
