from django.urls import path

from kehu.audit import views

urlpatterns = [
    path("", views.audit_list, name="audit_list"),
    path("export/", views.audit_export, name="audit_export"),
]
