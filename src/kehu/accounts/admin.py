"""The administrator manages users and teams here; customer data is changed only through kehu's services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from kehu.accounts import services, two_factor
from kehu.accounts.models import Team, User
from kehu.audit.context import audit_context

# django-otp's own admin pages show the authenticator secrets; users manage their devices in Security, and the
# administrator resets them with the action below.
for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "role", "team", "is_active", "last_login")
    actions = ("reset_two_factor", "deactivate")
    list_filter = ("role", "team", "is_active")
    search_fields = ("username", "display_name", "email")
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        ("kehu", {"fields": ("display_name", "phone", "role", "team")}),
    )
    add_fieldsets: Any = (
        *DjangoUserAdmin.add_fieldsets,
        ("kehu", {"fields": ("display_name", "role", "team")}),
    )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Unticking "active" disables the user through the service, which also ends their sessions."""
        was_active = change and User.objects.filter(pk=obj.pk, is_active=True).exists()
        super().save_model(request, obj, form, change)
        if was_active and not obj.is_active:
            self._deactivate(request, obj)

    def _deactivate(self, request: HttpRequest, user: User) -> int:
        assert isinstance(request.user, User)
        with audit_context(source="admin", ip_address=request.META.get("REMOTE_ADDR")):
            return services.user_deactivate(actor=request.user, user=user)

    @admin.action(description=_("Disable and sign out everywhere"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = [user for user in queryset if user.pk != request.user.pk]
        for user in users:
            self._deactivate(request, user)
        self.message_user(request, ngettext("%d user disabled.", "%d users disabled.", len(users)) % len(users))

    @admin.action(description=_("Reset two-factor sign-in (lost phone)"))
    def reset_two_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        assert isinstance(request.user, User)
        with audit_context(source="admin", ip_address=request.META.get("REMOTE_ADDR")):
            for user in queryset:
                two_factor.two_factor_reset(actor=request.user, user=user)
        self.message_user(request, _("They will set up a new authenticator at their next sign-in."), messages.SUCCESS)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
