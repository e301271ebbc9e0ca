from django.urls import path

from kehu.ingest import views

urlpatterns = [
    path("", views.import_list, name="import_list"),
    path("uploads/<uuid:upload_id>/", views.import_map, name="import_map"),
    path("<uuid:job_id>/", views.import_detail, name="import_detail"),
    path("<uuid:job_id>/cancel/", views.import_cancel, name="import_cancel"),
    path("<uuid:job_id>/run/", views.import_run_for_real, name="import_run_for_real"),
    path("<uuid:job_id>/report.<str:file_format>", views.import_report, name="import_report"),
]

export_urls = [
    path("customers/", views.export_create, name="export_create"),
    path("<uuid:job_id>/", views.export_detail, name="export_detail"),
    path("<uuid:job_id>/download/", views.export_download, name="export_download"),
]
