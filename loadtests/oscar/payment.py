"""The payment step. django-oscar-api places an order at checkout and leaves payment to the shop: it links
each order to a view named `api-payment` (the order's `payment_url`). This one plays the payment provider's
answer, as the load test says: accepted marks the order paid; declined cancels it and gives its units back.
"""

from __future__ import annotations

from django.db import transaction
from oscar.core.loading import get_model
from rest_framework import status, views
from rest_framework.request import Request
from rest_framework.response import Response

Order = get_model("order", "Order")

PAID = "paid"
CANCELLED = "cancelled"


class PaymentView(views.APIView):
    """POST {"accept": true|false}: 200 and the order paid, or 402 and the order cancelled."""

    def post(self, request: Request, pk: int) -> Response:
        with transaction.atomic():
            order = Order.objects.select_for_update().filter(pk=pk).first()
            if order is None:
                return Response({"reason": "no such order"}, status=status.HTTP_404_NOT_FOUND)
            if order.status != "new":
                return Response({"reason": f"order is {order.status}"}, status=status.HTTP_409_CONFLICT)
            if request.data.get("accept") is False:
                for line in order.lines.select_related("stockrecord"):
                    if line.stockrecord is not None:
                        line.stockrecord.cancel_allocation(line.quantity)
                Order.objects.filter(pk=pk).update(status=CANCELLED)
                return Response({"number": order.number, "status": CANCELLED}, status=status.HTTP_402_PAYMENT_REQUIRED)
            Order.objects.filter(pk=pk).update(status=PAID)
        return Response({"number": order.number, "status": PAID})
