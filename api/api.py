"""The API's own endpoints: who am I, the schema and its documentation, and JSON 404s."""

from typing import Any

from csp.decorators import csp_update
from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from .base import ApiViewSet
from .errors import error_body
from .schema import LIST_ERRORS, example


class TokenInfoSerializer(serializers.Serializer):
    key = serializers.CharField(source="token_key", help_text="The token's first characters.")
    name = serializers.CharField(allow_null=True)
    read_only = serializers.BooleanField()
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(allow_null=True)


class MembershipInfoSerializer(serializers.Serializer):
    talk = serializers.SlugField()
    title = serializers.CharField()
    role = serializers.CharField()


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    token = TokenInfoSerializer(
        allow_null=True, help_text="The token of this request; null for a browser session."
    )
    talks = MembershipInfoSerializer(many=True)


@extend_schema_view(
    retrieve=extend_schema(
        summary="Who you are, with which token, and your role in each talk",
        responses={200: MeSerializer, **LIST_ERRORS},
        examples=[
            example(
                "A script",
                {
                    "username": "analyst",
                    "token": {
                        "key": "3f9c0a1b2c3d4e5",
                        "name": "nightly export",
                        "read_only": True,
                        "created": "2026-10-01T08:00:00Z",
                        "expiry": "2026-12-30T08:00:00Z",
                    },
                    "talks": [
                        {
                            "talk": "gaza-ceasefire",
                            "title": "Gaza ceasefire talks",
                            "role": "analyst",
                        }
                    ],
                },
            )
        ],
    )
)
class MeViewSet(ApiViewSet):
    serializer_class = MeSerializer

    def retrieve(self, request: Request) -> Response:
        from talks.models import Membership

        token = request.auth
        token_info = None
        if token is not None:
            settings_row = getattr(token, "settings", None)
            token_info = {
                "token_key": token.token_key,
                "name": settings_row.name if settings_row else None,
                "read_only": bool(settings_row and settings_row.read_only),
                "created": token.created,
                "expiry": token.expiry,
            }
        talks = [
            {"talk": m.talk.slug, "title": m.talk.title, "role": m.role}
            for m in Membership.objects.filter(user=request.user)
            .select_related("talk")
            .order_by("talk__title")
        ]
        return Response(
            MeSerializer(
                {"username": request.user.get_username(), "token": token_info, "talks": talks}
            ).data
        )


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 schema (YAML by default, JSON with ?format=json)."""


@method_decorator(csp_update({"img-src": ["data:"]}), name="dispatch")
class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the sidecar's files, its start-up script served from a URL (no
    inline script), under the project's CSP; only its icons (data: SVGs) need more."""

    template_name = "api/swagger_ui.html"


@csrf_exempt  # answers every method with a 404, whatever the caller's cookies
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return JsonResponse(
        error_body("not_found", "No API endpoint at this address; see /api/docs/."), status=404
    )
