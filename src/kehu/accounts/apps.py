from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "kehu.accounts"
    label = "accounts"

    def ready(self) -> None:
        from kehu.accounts import checks  # noqa: F401 - registers the system checks
