"""Administrators edit the clinic's course settings here (one row). Clinical records of the
course are read on their pages, not in the admin."""

from __future__ import annotations

from django.contrib import admin

from courses.models import CoursePolicy


@admin.register(CoursePolicy)
class CoursePolicyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        CoursePolicy.objects.get_or_create(pk=1)
        return super().get_queryset(request)
