from tests.support.cluster import cluster_factory, cluster_fixture

__all__ = ["cluster_factory", "nginx_cluster", "redis_cluster"]

# Short, recorded matches: a whole game fits in a test and can be replayed.
FAST_MATCHES = {
    "SKIRMISH_MATCH_FILL_SECONDS": "1",
    "SKIRMISH_MATCH_START_WAIT_SECONDS": "5",
    "SKIRMISH_ARENA_TIME_LIMIT_SECONDS": "6",
    "SKIRMISH_ARENA_SCORE_LIMIT": "50",
    "SKIRMISH_RECORD_REPLAYS": "true",
}

# Embedded pods on purpose: routing is the proxy's job and must not depend on Redis.
nginx_cluster = cluster_fixture("nginx_cluster", scope="module", pods=3, redis=False)

# The real thing: three pods sharing a private Redis, nginx in front.
redis_cluster = cluster_fixture("redis_cluster", scope="module", pods=3, env=FAST_MATCHES)
