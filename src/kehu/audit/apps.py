from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "kehu.audit"
    label = "audit"
