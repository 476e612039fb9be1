"""The browser page where a signed-in user manages their own API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods

from .forms import TokenCreateForm, TokenRevokeForm
from .selectors import api_tokens_for_user
from .services import api_token_create, api_token_revoke


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm()
    secret = None
    if request.method == "POST" and request.POST.get("action") == "revoke":
        revoke = TokenRevokeForm(request.POST)
        if revoke.is_valid():
            try:
                api_token_revoke(user=request.user, token_key=revoke.cleaned_data["key"])
            except ValidationError as exc:
                messages.error(request, exc.messages[0])
            else:
                messages.success(request, "Token revoked: scripts using it are refused from now.")
        return redirect("tokens")
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            try:
                _, secret = api_token_create(
                    user=request.user,
                    name=form.cleaned_data["name"],
                    read_only=form.cleaned_data["read_only"],
                    days=form.cleaned_data["days"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form = TokenCreateForm()
    response = render(
        request,
        "api/tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": api_tokens_for_user(user=request.user),
            "now": timezone.now(),
        },
        status=400 if form.errors else 200,
    )
    # The page may carry a token's secret: no cache may keep it.
    add_never_cache_headers(response)
    return response
