from django.urls import path

from kehu.commerce.views import order_create_view
from kehu.customers import views

urlpatterns = [
    path("", views.customer_list, name="customer_list"),
    path("new/", views.customer_create_view, name="customer_create"),
    path("bulk/", views.customer_bulk, name="customer_bulk"),
    path("quality/", views.data_quality, name="data_quality"),
    path("views/", views.saved_view_save, name="saved_view_save"),
    path("views/<int:view_id>/delete/", views.saved_view_delete, name="saved_view_delete"),
    path("<uuid:customer_id>/", views.customer_detail, name="customer_detail"),
    path("<uuid:customer_id>/edit/", views.customer_edit_view, name="customer_edit"),
    path("<uuid:customer_id>/archive/", views.customer_archive_view, name="customer_archive"),
    path("<uuid:customer_id>/reveal/", views.customer_reveal_view, name="customer_reveal"),
    path("<uuid:customer_id>/log/", views.interaction_log_view, name="interaction_log"),
    path("<uuid:customer_id>/orders/new/", order_create_view, name="order_create"),
    path("<uuid:customer_id>/contact-points/new/", views.contact_point_add_view, name="contact_point_add"),
    path("<uuid:customer_id>/contact-points/<int:point_id>/", views.contact_point_edit_view, name="contact_point_edit"),
    path(
        "<uuid:customer_id>/contact-points/<int:point_id>/remove/",
        views.contact_point_remove_view,
        name="contact_point_remove",
    ),
    path("<uuid:customer_id>/addresses/new/", views.address_add_view, name="address_add"),
    path("<uuid:customer_id>/addresses/<int:address_id>/remove/", views.address_remove_view, name="address_remove"),
]
