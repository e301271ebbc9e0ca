from django.urls import path

from kehu.analytics import views

urlpatterns = [
    path("", views.analytics_page, name="analytics"),
    path("run/", views.analytics_run, name="analytics_run"),
    path("acquisition/", views.acquisition_page, name="analytics_acquisition"),
]
