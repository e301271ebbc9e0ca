from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from kehu.api import api
from kehu.commerce.urls import order_urls, product_urls
from kehu.ingest.urls import export_urls
from kehu.ingest.views import lead_form_page
from kehu.privacy.urls import customer_urls as privacy_customer_urls
from kehu.privacy.urls import privacy_urls
from kehu.web.views import home, search, sign_in, sign_out

urlpatterns = [
    path("", home, name="home"),
    path("search/", search, name="search"),
    path("customers/", include("kehu.customers.urls")),
    path("customers/", include(privacy_customer_urls)),
    path("duplicates/", include("kehu.dedup.urls")),
    path("analytics/", include("kehu.analytics.urls")),
    path("privacy/", include(privacy_urls)),
    path("audit/", include("kehu.audit.urls")),
    path("imports/", include("kehu.ingest.urls")),
    path("exports/", include(export_urls)),
    path("f/<str:key>/", lead_form_page, name="lead_form"),
    path("orders/", include(order_urls)),
    path("products/", include(product_urls)),
    path("accounts/login/", sign_in, name="login"),
    path("accounts/logout/", sign_out, name="logout"),
    path("accounts/", include("kehu.accounts.urls")),
    # The admin signs in through kehu's own page, with throttling and the second factor.
    path("admin/login/", RedirectView.as_view(url="/accounts/login/", query_string=True)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("api/docs", RedirectView.as_view(url="/api/v1/docs", permanent=False)),
]
handler404 = "kehu.web.views.not_found"
