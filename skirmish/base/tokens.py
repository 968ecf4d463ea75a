"""Signed, expiring tokens (JWT, HS256 via PyJWT): player tokens and match tokens.

A player token proves who you are to the REST API. A match token is bound to one player
and one match, and is what opens the match socket. Audiences keep one from passing for
the other. Several verification secrets may be configured so the signing secret can be
rotated without logging everyone out: new tokens are signed with the first secret only,
and a token signed with any of them verifies until it expires (SKIRMISH_TOKEN_SECRET and
SKIRMISH_TOKEN_PREVIOUS_SECRETS; docs/security.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jwt

from skirmish.base.errors import Unauthorized

ISSUER = "skirmish"
PLAYER_AUDIENCE = "skirmish:player"
MATCH_AUDIENCE = "skirmish:match"
SPECTATE_AUDIENCE = "skirmish:spectate"
ALGORITHM = "HS256"
MAX_TOKEN_CHARS = 2048  # ours are ~250; anything far longer is refused before decoding
VERIFIED_CACHE = 4096  # tokens verified lately, kept until they expire (or the cache fills)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: float


@dataclass(frozen=True, slots=True)
class PlayerClaims:
    player_id: str
    name: str


@dataclass(frozen=True, slots=True)
class MatchClaims:
    player_id: str
    match_id: str


class TokenService:
    def __init__(
        self,
        secret: str,
        *,
        previous_secrets: Sequence[str] = (),
        player_ttl: float = 24 * 3600,
        match_ttl: float = 600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._signing = secret
        self._verifying = (secret, *previous_secrets)
        self._player_ttl = player_ttl
        self._match_ttl = match_ttl
        self._clock = clock
        # (audience, token) → (claims, exp). A client presents the same token again and
        # again (polls every 250 ms, reconnects), and the REST rate limiter reads it before
        # the endpoint does: an HMAC check and a JWT parse each time is CPU for nothing. An
        # exact token string verified once stays valid until its `exp`.
        self._verified: dict[tuple[str, str], tuple[dict[str, str], float]] = {}

    def issue_player(self, player_id: str, name: str) -> IssuedToken:
        return self._issue({"sub": player_id, "name": name}, PLAYER_AUDIENCE, self._player_ttl)

    def issue_match(self, player_id: str, match_id: str) -> IssuedToken:
        return self._issue({"sub": player_id, "mid": match_id}, MATCH_AUDIENCE, self._match_ttl)

    def issue_spectate(self, player_id: str, match_id: str) -> IssuedToken:
        """A spectate token: lets its player watch one match (live or recorded)."""
        claims = {"sub": player_id, "mid": match_id}
        return self._issue(claims, SPECTATE_AUDIENCE, self._match_ttl)

    def verify_spectate(self, token: str) -> MatchClaims:
        claims = self._verify(token, SPECTATE_AUDIENCE, ("sub", "mid"))
        return MatchClaims(claims["sub"], claims["mid"])

    def verify_player(self, token: str) -> PlayerClaims:
        claims = self._verify(token, PLAYER_AUDIENCE, ("sub", "name"))
        return PlayerClaims(claims["sub"], claims["name"])

    def verify_match(self, token: str) -> MatchClaims:
        claims = self._verify(token, MATCH_AUDIENCE, ("sub", "mid"))
        return MatchClaims(claims["sub"], claims["mid"])

    def _issue(self, claims: dict[str, str], audience: str, ttl: float) -> IssuedToken:
        now = self._clock()
        expires_at = now + ttl
        payload = {
            **claims,
            "iss": ISSUER,
            "aud": audience,
            "iat": int(now),
            "exp": int(expires_at),
        }
        return IssuedToken(jwt.encode(payload, self._signing, ALGORITHM), int(expires_at))

    def _verify(self, token: str, audience: str, required: tuple[str, ...]) -> dict[str, str]:
        key = (audience, token)
        cached = self._verified.get(key)
        if cached is not None:
            if time.time() < cached[1]:  # PyJWT's clock, no leeway, as below
                return cached[0]
            del self._verified[key]
            raise Unauthorized("token expired")
        claims = self._decode(token, audience, required)
        if len(self._verified) >= VERIFIED_CACHE:
            del self._verified[next(iter(self._verified))]  # the oldest entry
        self._verified[key] = (claims, float(claims["exp"]))
        return claims

    def _decode(self, token: str, audience: str, required: tuple[str, ...]) -> dict[str, str]:
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized("invalid token: too long")
        last_error: jwt.PyJWTError | None = None
        for secret in self._verifying:
            try:
                return jwt.decode(
                    token,
                    secret,
                    algorithms=[ALGORITHM],
                    audience=audience,
                    issuer=ISSUER,
                    options={"require": ["exp", "iat", "iss", "aud", *required]},
                    leeway=0,
                )
            except jwt.InvalidSignatureError as exc:
                last_error = exc  # maybe signed with an older secret
            except jwt.ExpiredSignatureError as exc:
                raise Unauthorized("token expired") from exc
            except jwt.PyJWTError as exc:
                raise Unauthorized(f"invalid token: {exc}") from exc
        raise Unauthorized("invalid token signature") from last_error
