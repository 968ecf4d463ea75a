"""Store tests run against every backend; the Redis one on a private server per module."""

from tests.support.redis_server import redis_url as redis_url
