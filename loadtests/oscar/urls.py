"""URLs of the Oscar target: django-oscar-api under /api/, and the payment step Oscar leaves to the shop."""

from django.urls import include, path

from loadtests.oscar.payment import PaymentView

urlpatterns = [
    path("api/orders/<int:pk>/pay/", PaymentView.as_view(), name="api-payment"),
    path("api/", include("oscarapi.urls")),
]
