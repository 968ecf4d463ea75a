"""Signed tokens: rotation, tampering, expiry, audiences, issuers and algorithms."""

from __future__ import annotations

import base64
import time
from typing import Any

import jwt
import orjson
import pytest

from skirmish.base.errors import Unauthorized
from skirmish.base.settings import Settings
from skirmish.base.tokens import ISSUER, MATCH_AUDIENCE, PLAYER_AUDIENCE, TokenService
from skirmish.server.services import build_services

OLD = "old-secret-0123456789abcdef0123456789"
NEW = "new-secret-0123456789abcdef0123456789"


def refused(verify: Any, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        verify(token)
    return caught.value.message


def test_rotation_old_tokens_still_verify_and_new_ones_use_the_new_secret() -> None:
    before = TokenService(OLD)
    old_token = before.issue_match("p_1", "m_1").token
    after = TokenService(NEW, previous_secrets=[OLD])
    claims = after.verify_match(old_token)
    assert (claims.player_id, claims.match_id) == ("p_1", "m_1")
    new_token = after.issue_match("p_2", "m_2").token
    # Signed with the new secret only: a pod that knows just the new one accepts it, a
    # pod still on the old one refuses it, and the HMAC checks out against NEW.
    assert TokenService(NEW).verify_match(new_token).player_id == "p_2"
    assert refused(TokenService(OLD).verify_match, new_token) == "invalid token signature"
    jwt.decode(new_token, NEW, algorithms=["HS256"], audience=MATCH_AUDIENCE)
    # Once the old secret is dropped from the list, its tokens stop verifying.
    assert refused(TokenService(NEW).verify_match, old_token) == "invalid token signature"


def test_previous_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKIRMISH_TOKEN_SECRET", NEW)
    monkeypatch.setenv("SKIRMISH_TOKEN_PREVIOUS_SECRETS", f"{OLD}, {'x' * 40}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = Settings()
    assert settings.token_previous_secrets == [OLD, "x" * 40]
    tokens = build_services(settings).tokens
    assert tokens.verify_player(TokenService(OLD).issue_player("p_9", "ann").token).name == "ann"
    monkeypatch.setenv("SKIRMISH_TOKEN_PREVIOUS_SECRETS", f'["{OLD}"]')  # JSON works too
    assert Settings().token_previous_secrets == [OLD]
    monkeypatch.setenv("SKIRMISH_TOKEN_PREVIOUS_SECRETS", "too-short")
    with pytest.raises(ValueError, match="32 characters"):
        Settings()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_a_tampered_payload_or_signature_is_refused() -> None:
    tokens = TokenService(NEW)
    token = tokens.issue_match("p_1", "m_1").token
    header, payload, signature = token.split(".")
    claims = orjson.loads(_unb64(payload))
    forged = _b64(orjson.dumps({**claims, "mid": "m_other"}))
    assert refused(tokens.verify_match, f"{header}.{forged}.{signature}").endswith("signature")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    assert refused(tokens.verify_match, f"{header}.{payload}.{flipped}").endswith("signature")
    assert refused(tokens.verify_match, f"{header}.{payload}.").startswith("invalid token")


def test_unsigned_and_other_algorithms_are_refused() -> None:
    tokens = TokenService(NEW)
    now = int(time.time())
    claims = {"sub": "p_1", "mid": "m_1", "iss": ISSUER, "aud": MATCH_AUDIENCE}
    claims |= {"iat": now, "exp": now + 60}
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert refused(tokens.verify_match, unsigned).startswith("invalid token")
    hs512 = jwt.encode(claims, NEW + NEW, algorithm="HS512")  # right secret, wrong algorithm
    assert refused(tokens.verify_match, hs512).startswith("invalid token")


def test_expired_tokens_are_refused_without_leeway() -> None:
    issued_at = [time.time() - 11]
    issuer = TokenService(NEW, match_ttl=10, clock=lambda: issued_at[0])
    verifier = TokenService(NEW)
    # PyJWT checks `exp` against the real clock, with no leeway: expired a second ago.
    assert refused(verifier.verify_match, issuer.issue_match("p_1", "m_1").token) == (
        "token expired"
    )
    issued_at[0] = time.time() - 5  # five seconds left: still fine
    assert verifier.verify_match(issuer.issue_match("p_1", "m_1").token).match_id == "m_1"


def test_audiences_keep_player_and_match_tokens_apart() -> None:
    tokens = TokenService(NEW)
    # The real tokens differ in their claims too; these carry every claim of both kinds,
    # so only the audience tells them apart.
    now = int(time.time())
    both = {"sub": "p_1", "name": "ann", "mid": "m_1", "iss": ISSUER, "iat": now, "exp": now + 60}
    as_player = jwt.encode({**both, "aud": PLAYER_AUDIENCE}, NEW, algorithm="HS256")
    as_match = jwt.encode({**both, "aud": MATCH_AUDIENCE}, NEW, algorithm="HS256")
    assert tokens.verify_player(as_player).name == "ann"
    assert tokens.verify_match(as_match).match_id == "m_1"
    assert "audience" in refused(tokens.verify_match, as_player).lower()
    assert "audience" in refused(tokens.verify_player, as_match).lower()
    assert refused(tokens.verify_match, tokens.issue_player("p_1", "ann").token)
    assert refused(tokens.verify_player, tokens.issue_match("p_1", "m_1").token)


def test_wrong_issuer_and_missing_claims_are_refused() -> None:
    tokens = TokenService(NEW)
    now = int(time.time())
    base = {"sub": "p_1", "name": "x", "aud": PLAYER_AUDIENCE, "iat": now, "exp": now + 60}
    other_issuer = jwt.encode({**base, "iss": "someone-else"}, NEW, algorithm="HS256")
    assert "issuer" in refused(tokens.verify_player, other_issuer).lower()
    no_expiry = {k: v for k, v in base.items() if k != "exp"} | {"iss": ISSUER}
    assert "exp" in refused(tokens.verify_player, jwt.encode(no_expiry, NEW, algorithm="HS256"))
    no_name = {k: v for k, v in base.items() if k != "name"} | {"iss": ISSUER}
    assert "name" in refused(tokens.verify_player, jwt.encode(no_name, NEW, algorithm="HS256"))


def test_absurdly_long_tokens_are_refused_before_decoding() -> None:
    assert refused(TokenService(NEW).verify_match, "a" * 100_000) == "invalid token: too long"


def test_a_verified_token_still_expires_on_time() -> None:
    tokens = TokenService(NEW, match_ttl=1)
    token = tokens.issue_match("p_1", "m_1").token
    assert tokens.verify_match(token).match_id == "m_1"  # verified once: remembered...
    expires = claims_of(token)["exp"]
    time.sleep(max(0.0, expires - time.time()) + 0.05)
    assert refused(tokens.verify_match, token) == "token expired"  # ...but not past `exp`
    assert refused(tokens.verify_match, token) == "token expired"


def test_remembered_tokens_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("skirmish.base.tokens.VERIFIED_CACHE", 8)
    tokens = TokenService(NEW)
    issued = [tokens.issue_match(f"p_{n}", "m_1").token for n in range(20)]
    for token in issued:
        tokens.verify_match(token)
    assert len(tokens._verified) == 8
    assert all(tokens.verify_match(t).match_id == "m_1" for t in issued)  # evicted: re-verified


def claims_of(token: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(_unb64(token.split(".")[1]))
    return data
