from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kehu.accounts"
    label = "accounts"
