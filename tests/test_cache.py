"""The Redis cache as configured: one client object per pool, against the real Redis."""

import pytest
from django.core.cache import caches

from config.cache import RedisCache


@pytest.fixture
def redis_cache():
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        pytest.skip("needs REDIS_URL: the suite runs on the local-memory cache")
    cache.delete_many(["cache-test:a", "cache-test:b"])
    yield cache
    cache.delete_many(["cache-test:a", "cache-test:b"])


def test_the_redis_cache_reuses_its_client_and_reads_back_what_it_wrote(redis_cache):
    inner = redis_cache._cache
    client = inner.get_client()
    assert inner.get_client("cache-test:a") is client
    assert inner.get_client(write=True) is client  # one server: one pool for both
    assert client.ping()

    redis_cache.set("cache-test:a", {"talk": 1, "role": "analyst"}, timeout=30)
    assert redis_cache.add("cache-test:a", "other", timeout=30) is False
    assert redis_cache.get("cache-test:a") == {"talk": 1, "role": "analyst"}
    assert redis_cache.get_many(["cache-test:a", "cache-test:b"]) == {
        "cache-test:a": {"talk": 1, "role": "analyst"}
    }
    assert redis_cache.add("cache-test:b", 1, timeout=30) is True
    assert redis_cache.incr("cache-test:b") == 2
    assert redis_cache.get("cache-test:b") == 2
    redis_cache.delete("cache-test:a")
    assert redis_cache.get("cache-test:a") is None
    assert inner.get_client() is client
