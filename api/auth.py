"""Token sign-in for the API: django-rest-knox, one query per request."""

from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth as knox_auth
from knox.signals import token_expired


class TokenAuthentication(knox_auth.TokenAuthentication):
    """knox's token authentication without its sweep of the user's other tokens.

    knox reads every token of the user on each request to delete the expired ones; that
    doubles the queries of every API call. An expired token is refused either way, and the
    user's expired tokens are cleared when they are issued a new one
    (api.services.api_token_create).
    """

    def _cleanup_token(self, auth_token) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=self.__class__, username=username, source="auth_token")
            return True
        return False


class TokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of the class above: knox's own."""

    target_class = "api.auth.TokenAuthentication"
