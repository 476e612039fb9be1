"""Create, list and revoke API tokens from the command line.

manage.py api_token create USERNAME --name "nightly export" [--read-only] [--days N]
manage.py api_token list [USERNAME]
manage.py api_token revoke KEY [--user USERNAME]
manage.py api_token revoke --all USERNAME
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from api.selectors import api_token_list
from api.services import api_token_create, api_token_revoke, api_tokens_revoke_all


class Command(BaseCommand):
    help = "Create, list and revoke users' API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Issue a token; its secret is printed once.")
        create.add_argument("username")
        create.add_argument("--name", required=True, help="What the token is for.")
        create.add_argument("--read-only", action="store_true", help="It may only read.")
        create.add_argument("--days", type=int, default=None, help="Lifetime in days.")
        listing = sub.add_parser("list", help="List tokens (never their secrets).")
        listing.add_argument("username", nargs="?")
        revoke = sub.add_parser("revoke", help="Revoke a token by its key, or all of a user's.")
        revoke.add_argument("key", nargs="?", help="The token's first characters, as listed.")
        revoke.add_argument("--user", help="Only among this user's tokens.")
        revoke.add_argument("--all", metavar="USERNAME", help="Revoke every token of a user.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self._create(options)
        elif action == "list":
            self._list(options.get("username"))
        else:
            self._revoke(options)

    def _user(self, username: str) -> Any:
        try:
            return get_user_model().objects.get_by_natural_key(username)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user '{username}'.") from exc

    def _create(self, options: dict[str, Any]) -> None:
        user = self._user(options["username"])
        try:
            token, secret = api_token_create(
                user=user,
                name=options["name"],
                read_only=options["read_only"],
                days=options["days"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        access = "read-only" if options["read_only"] else "read and write"
        self.stderr.write(
            f"Token '{options['name']}' for {user.get_username()} ({access}), "
            f"expires {token.expiry:%Y-%m-%d %H:%M} UTC. Copy it now; it is not shown again:"
        )
        self.stdout.write(secret)

    def _list(self, username: str | None) -> None:
        if username is not None:
            self._user(username)
        now = timezone.now()
        rows = list(api_token_list(username=username))
        if not rows:
            self.stdout.write("No tokens.")
            return
        self.stdout.write(f"{'key':<16} {'user':<16} {'access':<10} {'expires':<17} name")
        for token in rows:
            settings_row = getattr(token, "settings", None)
            access = "read-only" if settings_row and settings_row.read_only else "read-write"
            if token.expiry is None:
                expires = "never"
            elif token.expiry < now:
                expires = "expired"
            else:
                expires = f"{token.expiry:%Y-%m-%d %H:%M}"
            name = settings_row.name if settings_row else ""
            self.stdout.write(
                f"{token.token_key:<16} {token.user.get_username():<16} {access:<10} "
                f"{expires:<17} {name}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        if options.get("all"):
            count = api_tokens_revoke_all(user=self._user(options["all"]))
            self.stdout.write(f"Revoked {count} token(s).")
            return
        if not options.get("key"):
            raise CommandError("Give the key of the token to revoke, or --all USERNAME.")
        user = self._user(options["user"]) if options.get("user") else None
        try:
            count = api_token_revoke(user=user, token_key=options["key"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Revoked {count} token(s).")
