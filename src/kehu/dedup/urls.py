from django.urls import path, re_path

from kehu.dedup import views

urlpatterns = [
    path("", views.duplicates, name="duplicates"),
    path("run/", views.duplicates_run, name="duplicates_run"),
    path("check/", views.duplicate_hints, name="duplicate_hints"),
    path("policy/", views.duplicates_policy, name="duplicates_policy"),
    path("groups/<int:group_id>/", views.group_detail, name="duplicate_group"),
    path("groups/<int:group_id>/merge/", views.group_merge, name="duplicate_group_merge"),
    re_path(
        r"^groups/(?P<group_id>\d+)/(?P<decision>not-same|skip)/$", views.group_decide, name="duplicate_group_decide"
    ),
    path("merges/<uuid:merge_id>/", views.merge_detail, name="merge_detail"),
]
