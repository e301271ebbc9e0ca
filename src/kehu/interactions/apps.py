from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    name = "kehu.interactions"
    label = "interactions"
