from django.urls import path

from kehu.privacy import views

customer_urls = [
    path("<uuid:customer_id>/consents/", views.customer_consents, name="customer_consents"),
    path("<uuid:customer_id>/consents/withdraw/", views.customer_consent_withdraw, name="customer_consent_withdraw"),
    path("<uuid:customer_id>/requests/new/", views.subject_request_new, name="subject_request_new"),
]
privacy_urls = [
    path("requests/", views.subject_request_list, name="subject_request_list"),
    path("requests/<uuid:request_id>/", views.subject_request_detail, name="subject_request_detail"),
    path("requests/<uuid:request_id>/close/", views.subject_request_close_view, name="subject_request_close"),
    path("requests/<uuid:request_id>/export/", views.subject_request_export_view, name="subject_request_export"),
    path("requests/<uuid:request_id>/erase/", views.subject_request_erase_view, name="subject_request_erase"),
    path("retention/", views.retention_page, name="retention"),
]
