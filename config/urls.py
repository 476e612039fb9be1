from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from api.views import tokens


@transaction.non_atomic_requests
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches neither the database nor the cache, so it is
    also the floor the benchmark compares the dashboard with (bench/)."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/tokens/", tokens, name="tokens"),
    path("api/", include("api.urls")),
    path("", include("talks.urls")),
]
