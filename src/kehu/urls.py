from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from kehu.api import api
from kehu.web.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
]
