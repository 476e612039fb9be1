"""Django's Redis cache, with one client object per connection pool.

Django's Redis client builds a new `redis.Redis` for every cache call, and each one fills a
table of some hundreds of reply parsers: about half a millisecond of a request that makes
five cache calls (a token's sign-in, the throttle, a membership, a revision token). The
client object holds no connection of its own (the pool does, and it is fork- and
thread-safe), so one per pool serves every call.
"""

from typing import Any

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
