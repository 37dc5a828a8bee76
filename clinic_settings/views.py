"""The settings area: one list, create, edit and retire view for every page in ``pages.PAGES``.

Each request names its page in the URL; the page's permission is checked before anything is
read (403 before 404), the form validates, one service writes and audits.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views import View
from django.views.generic import CreateView, ListView, TemplateView, UpdateView

from clinic_settings import services
from clinic_settings.pages import PAGES, Page, Retire
from scheduling.models import Location

PER_PAGE = 25


def visible_pages(user) -> list[Page]:
    return [page for page in PAGES.values() if user.has_perm(page.permission)]


class SettingsIndex(LoginRequiredMixin, TemplateView):
    template_name = "clinic_settings/index.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not visible_pages(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            settings_pages=visible_pages(self.request.user), crumbs=[("Settings", None)], **kwargs
        )


class PageMixin(LoginRequiredMixin):
    """Finds the page named in the URL and refuses anyone without its permission."""

    page: Page

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        page = PAGES.get(kwargs["section"])
        if page is None:
            raise Http404
        if not request.user.has_perm(page.permission):
            raise PermissionDenied
        self.page = page
        self.model = page.model
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return self.page.model.objects.select_related(*self.page.select_related).prefetch_related(
            *self.page.prefetch_related
        )

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(setting=self.page, settings_pages=visible_pages(self.request.user), **kwargs)


class SettingsList(PageMixin, ListView):
    template_name = "clinic_settings/list.html"
    paginate_by = PER_PAGE

    def get_queryset(self):
        rows = super().get_queryset()
        self.location = None
        if self.page.filter_by_location and self.request.GET.get("location", "").isdigit():
            self.location = Location.objects.filter(pk=self.request.GET["location"]).first()
            if self.location is not None:
                rows = rows.filter(location=self.location)
        return rows

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        fields = [self.page.model._meta.get_field(name) for name in self.page.columns]
        context["headers"] = [str(f.verbose_name).capitalize() for f in fields]
        context["rows"] = [(row, [_display(row, f) for f in fields]) for row in context["object_list"]]
        context["has_active"] = any(f.name == "active" for f in self.page.model._meta.fields)
        if self.page.filter_by_location:
            context["locations"] = Location.objects.order_by("name")
            context["location"] = self.location
            context["query"] = f"location={self.location.pk}" if self.location else ""
        return context


def _display(row, model_field) -> Any:
    if model_field.choices:
        return getattr(row, f"get_{model_field.name}_display")()
    value = getattr(row, model_field.name)
    if value is None or value == "":
        return "—"
    return value


class FormMixin(PageMixin):
    template_name = "clinic_settings/form.html"

    def get_form_class(self):
        return self.page.form

    def form_valid(self, form):
        saved = services.setting_save(page=self.page, form=form, by=self.request.user)
        messages.success(self.request, f"Saved {self.page.singular}: {saved}.")
        return redirect("clinic_settings:list", section=self.page.slug)


class SettingsCreate(FormMixin, CreateView):
    def dispatch(self, request, *args, **kwargs):
        page = PAGES.get(kwargs.get("section", ""))
        if page is not None and not page.can_add and request.user.has_perm(page.permission):
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        location = self.request.GET.get("location", "")
        return {"location": location} if location.isdigit() else {}


class SettingsEdit(FormMixin, UpdateView):
    pk_url_kwarg = "row_id"


class SettingsRetire(PageMixin, View):
    http_method_names = ["post"]

    def post(self, request, section: str, row_id: int):
        if self.page.retire == Retire.NONE:
            raise Http404
        get_object_or_404(self.page.model, pk=row_id)
        said = services.setting_retire(page=self.page, pk=row_id, by=request.user, today=timezone.localdate())
        messages.success(request, said)
        return redirect("clinic_settings:list", section=self.page.slug)
