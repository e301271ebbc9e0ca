from django.urls import path

from kehu.accounts import views

urlpatterns = [
    path("two-factor/", views.two_factor_code, name="two_factor_code"),
    path("two-factor/setup/", views.two_factor_setup, name="two_factor_setup"),
    path("reauthenticate/", views.reauthenticate_view, name="reauthenticate"),
    path("security/", views.security, name="account_security"),
    path("security/contact/", views.contact_change, name="account_contact"),
    path("security/password/", views.password_change, name="account_password"),
    path("security/two-factor/", views.two_factor_manage, name="account_two_factor"),
    path("security/backup-codes/", views.backup_codes_renew, name="account_backup_codes"),
    path("security/sessions/end/", views.sessions_end_others, name="account_sessions_end"),
]
