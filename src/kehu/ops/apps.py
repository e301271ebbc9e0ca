from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "kehu.ops"
    label = "ops"
