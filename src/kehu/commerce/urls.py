from django.urls import path

from kehu.commerce import views

order_urls = [
    path("", views.order_list, name="order_list"),
    path("<uuid:order_id>/", views.order_detail, name="order_detail"),
]
product_urls = [
    path("", views.product_list, name="product_list"),
    path("<str:sku>/", views.product_detail, name="product_detail"),
]
