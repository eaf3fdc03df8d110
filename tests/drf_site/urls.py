"""The test API: an inquiry endpoint guarded by ``FormGuardPermission``, beside the demo's URLs."""

from django.core.mail import send_mail
from django.urls import path
from rest_framework import generics, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from formguard.contrib.drf import FormGuardPermission, FormGuardSerializerMixin
from project.urls import urlpatterns as demo_urlpatterns


class InquirySerializer(FormGuardSerializerMixin, serializers.Serializer):
    name = serializers.CharField(max_length=100)
    email = serializers.EmailField()
    message = serializers.CharField(max_length=5000)

    def create(self, validated_data):
        send_mail("[Inquiry] " + validated_data["name"], validated_data["message"], None, ["staff@example.jp"])
        return validated_data


class InquiryView(generics.CreateAPIView):
    """POST /api/inquiries/: 201 with what was sent (its echo), as DRF's CreateAPIView answers."""

    permission_classes = [FormGuardPermission]
    formguard_form = "api-contact"
    formguard_traps = True
    serializer_class = InquirySerializer
    # What a caught message gets: what a sent one gets.
    formguard_success_status = 201

    def formguard_json_success(self, request):
        return {key: request.data.get(key, "") for key in ("name", "email", "message")}


class InquiryViewSet(viewsets.GenericViewSet):
    """A ViewSet action guarded the same way."""

    permission_classes = [FormGuardPermission]
    formguard_form = "api-viewset"
    serializer_class = InquirySerializer

    @action(detail=False, methods=["post"])
    def send(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response({"ok": True})


urlpatterns = [
    path("api/inquiries/", InquiryView.as_view(), name="api-inquiries"),
    path("api/viewset/send/", InquiryViewSet.as_view({"post": "send"}), name="api-viewset-send"),
    *demo_urlpatterns,
]
