from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "kehu.privacy"
    label = "privacy"
