"""What the Redis leases share (the match directory's and the matcher leader's): a lease is
a key holding its holder's name, and only that holder may give it back."""

from __future__ import annotations

# Delete KEYS[1] only if it still holds exactly ARGV[1]: a holder that lost its lease
# (expired, taken over) can never delete the new holder's.
COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
