"""The settings area: one list, create, edit and retire view for every page in ``pages.PAGES``.

Each request names its page in the URL; the page's permission is checked before anything is
read (403 before 404), the form validates, one service writes and audits.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Field
from django.forms import modelform_factory
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import CreateView, ListView, TemplateView, UpdateView
from django.views.generic.base import ContextMixin

from accounts.models import User
from clinic_settings import selectors, services
from clinic_settings.pages import LINKS, PAGES, POLICIES, Page, Retire
from scheduling.models import Location

PER_PAGE = 25


def visible_pages(user) -> list[Page]:
    return [page for page in PAGES.values() if user.has_perm(page.permission)]


def policy_links(user, current: str = "") -> list[dict[str, Any]]:
    """The one-row policies, then the pages other apps serve themselves (``pages.LINKS``)."""
    return [
        {
            "title": p.title,
            "intro": p.intro,
            "url": reverse("clinic_settings:policy", args=[p.slug]),
            "current": p.slug == current,
        }
        for p in POLICIES.values()
        if user.has_perm(p.permission)
    ] + [
        {"title": link.title, "intro": link.intro, "url": reverse(link.url_name), "current": False}
        for link in LINKS
        if user.has_perm(link.permission)
    ]


def _nav(user, current: str = "") -> dict[str, Any]:
    return {"settings_pages": visible_pages(user), "extra_settings_pages": policy_links(user, current)}


class SettingsIndex(LoginRequiredMixin, TemplateView):
    template_name = "clinic_settings/index.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not (visible_pages(request.user) or policy_links(request.user)):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(**_nav(self.request.user), crumbs=[("Settings", None)], **kwargs)


def _permitted(user, registry: dict[str, Any], key: str) -> Any:
    """The page or policy the URL names, if the user may open it (an unknown name is a 404)."""
    spec = registry.get(key)
    if spec is None:
        raise Http404
    if not user.has_perm(spec.permission):
        raise PermissionDenied
    return spec


class PageMixin(LoginRequiredMixin, ContextMixin, View):
    """Finds the page named in the URL and refuses anyone without its permission."""

    page: Page
    model: Any  # the page's model, set with it (the list and the object views type it apart)

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        page = _permitted(request.user, PAGES, kwargs["section"])
        self.page = page
        self.model = page.model
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        rows = self.page.model._default_manager.select_related(*self.page.select_related).prefetch_related(
            *self.page.prefetch_related
        )
        if self.page.superusers_only and not self.request.user.is_superuser:
            rows = rows.exclude(**self.page.superusers_only)
        return rows.order_by(*(self.page.model._meta.ordering or ["pk"]))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(setting=self.page, **_nav(self.request.user), **kwargs)


class SettingsList(PageMixin, ListView):
    template_name = "clinic_settings/list.html"
    paginate_by = PER_PAGE

    def get_queryset(self):
        rows = super().get_queryset()
        self.location = None
        chosen = self.request.GET.get("location", "")
        if self.page.filter_by_location and chosen.isascii() and chosen.isdigit():  # "²" is a digit to isdigit()
            self.location = Location.objects.filter(pk=chosen).first()
            if self.location is not None:
                rows = rows.filter(location=self.location)
        return rows

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        # A page's columns are its model's own fields, never relations seen from the other side.
        fields = [cast(Field, self.page.model._meta.get_field(name)) for name in self.page.columns]
        extra = self.page.extra_columns
        context["headers"] = [str(f.verbose_name).capitalize() for f in fields] + [h for h, _ in extra]
        context["rows"] = [
            (row, [_display(row, f) for f in fields] + [show(row) for _, show in extra])
            for row in context["object_list"]
        ]
        context["has_active"] = any(f.name == self.page.active_field for f in self.page.model._meta.fields)
        context["rows"] = [(row, cells, getattr(row, self.page.active_field, True)) for row, cells in context["rows"]]
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
    template_name: str | None = "clinic_settings/form.html"

    def get_form_class(self):
        return self.page.form

    def form_valid(self, form):
        signed_in = cast(User, self.request.user)  # LoginRequiredMixin let no one else in
        if self.page.saver:
            messages.success(self.request, services.SAVERS[self.page.saver](form=form, by=signed_in))
        else:
            saved = services.setting_save(page=self.page, form=form, by=signed_in)
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
        return {"location": location} if location.isascii() and location.isdigit() else {}


class SettingsEdit(FormMixin, UpdateView):
    pk_url_kwarg = "row_id"


class SettingsRetire(PageMixin, View):
    http_method_names = ["post"]

    def post(self, request, section: str, row_id: int):
        if self.page.retire == Retire.NONE:
            raise Http404
        get_object_or_404(self.get_queryset(), pk=row_id)
        try:
            said = services.setting_retire(page=self.page, pk=row_id, by=request.user, today=timezone.localdate())
        except ValidationError as refusal:
            messages.error(request, " ".join(refusal.messages))
        else:
            messages.success(request, said)
        return redirect("clinic_settings:list", section=self.page.slug)


class PolicyEdit(LoginRequiredMixin, UpdateView):
    """One policy row on one form. A clinical policy's edit becomes a proposal for the medical
    director (Clinical policy changes), so it is reviewed before it applies."""

    template_name = "clinic_settings/form.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.policy = _permitted(request.user, POLICIES, kwargs["policy"])
        return super().dispatch(request, *args, **kwargs)

    def get_object(self, queryset=None):
        return selectors.policy_row(self.policy)

    def get_form_class(self):
        return modelform_factory(self.policy.model, exclude=["updated_by"])

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        policy = self.policy
        intro = policy.intro
        if policy.sign_off:
            intro += " A change applies once the medical director signs it off."
        return super().get_context_data(
            # A policy is one row with no list page, so its breadcrumb ends at the policy itself.
            setting={"title": policy.title, "singular": policy.title.lower(), "slug": policy.slug, "is_policy": True},
            form_intro=intro,
            submit_label="Propose the change" if policy.sign_off else "Save",
            cancel_url=reverse("clinic_settings:index"),
            **_nav(self.request.user, policy.slug),
            **kwargs,
        )

    def form_valid(self, form):
        signed_in = cast(User, self.request.user)  # LoginRequiredMixin let no one else in
        said = services.policy_save(policy=self.policy, form=form, by=signed_in)
        messages.success(self.request, said)
        return redirect("clinic_settings:policy", policy=self.policy.slug)
