"""The match socket through the real router, middleware, consumer and match host."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from prometheus_client import REGISTRY

from game.replay import replay
from tests.realtime.conftest import Harness, HarnessFactory, close_code, receive, receive_until


def input_frame(seq: int, dx: float = 1.0, fire: bool = False) -> str:
    message = {"type": "input", "seq": seq, "dx": dx, "dy": 0.0, "aim": 0.0, "fire": fire}
    return orjson.dumps(message).decode()


def is_snapshot(message: dict[str, object]) -> bool:
    return message["type"] == "snapshot"


async def test_welcome_names_the_seat_and_the_players(harness: Harness) -> None:
    match = await harness.new_match(players=2)
    ws, welcome = await harness.join(match, slot=1)
    assert welcome["match_id"] == match.id
    assert welcome["slot"] == 1 and welcome["player_id"] == match.players[1].player_id
    assert [p["name"] for p in welcome["players"]] == ["player-0", "player-1"]
    assert welcome["status"] == "waiting" and welcome["last_seq"] == 0
    assert welcome["config"]["speed"] == 200.0 and welcome["tick_rate"] == 30
    await ws.disconnect()


async def test_match_starts_when_everyone_is_in_and_snapshots_ack_inputs(harness: Harness) -> None:
    match = await harness.new_match(players=2)
    a, _ = await harness.join(match, 0)
    b, _ = await harness.join(match, 1)
    await receive_until(a, lambda m: m["type"] == "start")
    first = await receive_until(a, is_snapshot)
    assert first["ack"] == 0
    await a.send_to(text_data=input_frame(1))
    await a.send_to(text_data=input_frame(2))
    acked = await receive_until(a, lambda m: is_snapshot(m) and m["ack"] == 2)
    me = acked["players"][0]
    assert me[1] > first["players"][0][1]  # moved right: the input was applied
    # The other player sees the same world, with its own ack.
    theirs = await receive_until(b, lambda m: is_snapshot(m) and m["tick"] >= acked["tick"])
    assert theirs["ack"] == 0
    await a.disconnect()
    await b.disconnect()


async def test_duplicate_and_backward_seqs_are_ignored(harness: Harness) -> None:
    match = await harness.new_match(players=1)
    ws, _ = await harness.join(match, 0)
    await ws.send_to(text_data=input_frame(5))
    await receive_until(ws, lambda m: is_snapshot(m) and m["ack"] == 5)
    for stale in (5, 3):
        await ws.send_to(text_data=input_frame(stale, dx=-1.0))
    snap = await receive_until(ws, is_snapshot)
    later = await receive_until(ws, lambda m: is_snapshot(m) and m["tick"] >= snap["tick"] + 3)
    assert later["ack"] == 5
    assert later["players"][0][1] > snap["players"][0][1]  # still moving right, not left
    await ws.disconnect()


async def test_ping_is_answered_with_pong(harness: Harness) -> None:
    match = await harness.new_match(players=2)
    ws, _ = await harness.join(match, 0)
    await ws.send_to(text_data='{"type":"ping","t":12345.5}')
    pong = await receive_until(ws, lambda m: m["type"] == "pong")
    assert pong["t"] == 12345.5 and isinstance(pong["tick"], int)
    await ws.disconnect()


async def test_received_messages_are_counted_in_the_metrics(harness: Harness) -> None:
    def received() -> dict[str, float | None]:
        sample = REGISTRY.get_sample_value
        return {t: sample("skirmish_ws_messages_total", {"type": t}) for t in ("input", "ping")}

    match = await harness.new_match(players=1)
    ws, _ = await harness.join(match, 0)
    before = received()
    await ws.send_to(text_data=input_frame(1))
    await ws.send_to(text_data=input_frame(2))
    await ws.send_to(text_data='{"type":"ping","t":1}')
    await receive_until(ws, lambda m: m["type"] == "pong")
    after = received()
    assert before["input"] is not None and before["ping"] is not None
    assert after == {"input": before["input"] + 2, "ping": before["ping"] + 1}
    await ws.disconnect()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_json"),
        ('{"type":"input","seq":1,"dx":NaN,"dy":0,"aim":0,"fire":false}', "bad_json"),
        ('{"type":"input","seq":1,"dx":1e400,"dy":0,"aim":0,"fire":false}', "bad_json"),
        ('{"type":"dance"}', "unknown_type"),
        ('{"nope":1}', "unknown_type"),
        ('{"type":"input","seq":"1","dx":0,"dy":0,"aim":0,"fire":false}', "invalid_message"),
        ('{"type":"input","seq":0,"dx":0,"dy":0,"aim":0,"fire":false}', "invalid_message"),
        ('{"type":"input","seq":1,"dx":5,"dy":0,"aim":0,"fire":false}', "invalid_message"),
        ('{"type":"input","seq":1,"dx":0,"dy":0,"aim":0,"fire":"yes"}', "invalid_message"),
        ('{"type":"input","seq":1,"dx":0,"dy":0,"aim":0,"fire":false,"x":1}', "invalid_message"),
        ('{"type":"ping","t":"soon"}', "invalid_message"),
    ],
)
async def test_bad_messages_get_an_error_and_change_nothing(
    harness: Harness, frame: str, code: str
) -> None:
    match = await harness.new_match(players=1)
    ws, _ = await harness.join(match, 0)
    await ws.send_to(text_data=frame)
    error = await receive_until(ws, lambda m: m["type"] == "error")
    assert error["code"] == code and error["message"]
    # The socket is still served and the seq space untouched: input 1 is accepted.
    await ws.send_to(text_data=input_frame(1))
    await receive_until(ws, lambda m: is_snapshot(m) and m["ack"] == 1)
    await ws.disconnect()


async def test_binary_frames_are_accepted_too(harness: Harness) -> None:
    match = await harness.new_match(players=1)
    ws, _ = await harness.join(match, 0)
    await ws.send_to(bytes_data=input_frame(1).encode())
    await receive_until(ws, lambda m: is_snapshot(m) and m["ack"] == 1)
    await ws.disconnect()


async def test_an_oversized_frame_closes_with_1009(harness: Harness) -> None:
    match = await harness.new_match(players=1)
    ws, _ = await harness.join(match, 0)
    await ws.send_to(text_data='{"type":"ping","t":1,"pad":"' + "x" * 5000 + '"}')
    assert await close_code(ws) == 1009


async def test_persistent_bad_input_closes_with_1008_and_others_keep_playing(
    harness: Harness,
) -> None:
    match = await harness.new_match(players=2)
    bad, _ = await harness.join(match, 0)
    good, _ = await harness.join(match, 1)
    await receive_until(good, lambda m: m["type"] == "start")
    for _ in range(25):
        await bad.send_to(text_data="garbage")
    assert await close_code(bad) == 1008
    first = await receive_until(good, is_snapshot)
    later = await receive_until(good, lambda m: is_snapshot(m) and m["tick"] >= first["tick"] + 10)
    assert later["online"] == [1]  # the offender shows as offline
    await good.disconnect()


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda h, m: None, 4001),
        (lambda h, m: "not-a-jwt", 4001),
        (lambda h, m: h.services.tokens.issue_player(m.players[0].player_id, "x").token, 4001),
    ],
    ids=["missing", "garbage", "player-token"],
)
async def test_unauthenticated_sockets_are_closed_with_4001(
    harness: Harness, make_token: object, code: int
) -> None:
    match = await harness.new_match()
    ws = harness.communicator(match.id, make_token(harness, match))  # type: ignore[operator]
    connected, _ = await ws.connect()
    assert connected
    error = await receive(ws)
    assert error["type"] == "error" and error["code"] == "unauthorized"
    assert await close_code(ws) == code


async def test_expired_match_token_is_refused(harness_factory: HarnessFactory) -> None:
    harness = await harness_factory(match_token_ttl_seconds=1)
    match = await harness.new_match()
    token = harness.token(match, 0)
    await asyncio.sleep(2.1)
    ws = harness.communicator(match.id, token)
    await ws.connect()
    assert (await receive(ws))["message"] == "token expired"
    assert await close_code(ws) == 4001


async def test_token_for_another_match_is_forbidden(harness: Harness) -> None:
    mine, other = await harness.new_match(), await harness.new_match()
    ws = harness.communicator(mine.id, harness.token(other, 0))
    await ws.connect()
    assert (await receive(ws))["code"] == "forbidden"
    assert await close_code(ws) == 4003


async def test_unknown_match_is_4004(harness: Harness) -> None:
    token = harness.services.tokens.issue_match("p_nobody", "m_missing").token
    ws = harness.communicator("m_missing", token)
    await ws.connect()
    assert (await receive(ws))["code"] == "not_found"
    assert await close_code(ws) == 4004


async def test_a_non_player_of_the_match_is_forbidden(harness: Harness) -> None:
    match = await harness.new_match()
    token = harness.services.tokens.issue_match("p_stranger", match.id).token
    ws = harness.communicator(match.id, token)
    await ws.connect()
    assert (await receive(ws))["code"] == "forbidden"
    assert await close_code(ws) == 4003


async def test_connecting_again_replaces_the_old_socket(harness: Harness) -> None:
    match = await harness.new_match(players=2)
    old, _ = await harness.join(match, 0)
    new, welcome = await harness.join(match, 0)
    assert welcome["slot"] == 0
    await receive_until(old, lambda m: m["type"] == "error" and m["code"] == "replaced")
    assert await close_code(old) == 4009
    await new.disconnect()


async def test_a_dropped_player_rejoins_with_its_seat_and_last_seq(harness: Harness) -> None:
    match = await harness.new_match(players=2)
    a, _ = await harness.join(match, 0)
    b, _ = await harness.join(match, 1)
    await a.send_to(text_data=input_frame(7))
    await receive_until(a, lambda m: is_snapshot(m) and m["ack"] == 7)
    await a.disconnect()
    offline = await receive_until(b, lambda m: is_snapshot(m) and 0 not in m["online"])
    assert offline["online"] == [1]
    again, welcome = await harness.join(match, 0)
    assert welcome["status"] == "running" and welcome["last_seq"] == 7
    await again.send_to(text_data=input_frame(8))
    await receive_until(again, lambda m: is_snapshot(m) and m["ack"] == 8)
    await again.disconnect()
    await b.disconnect()


async def test_the_match_ends_with_a_result_stored_and_a_normal_close(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(arena_time_limit_seconds=1)
    match = await harness.new_match(players=2)
    a, _ = await harness.join(match, 0)
    b, _ = await harness.join(match, 1)
    results = [await receive_until(ws, lambda m: m["type"] == "result") for ws in (a, b)]
    assert results[0] == results[1]
    result = results[0]
    assert result["match_id"] == match.id and result["reason"] == "time_limit"
    assert {p["player_id"] for p in result["players"]} == {p.player_id for p in match.players}
    assert await close_code(a) == 1000 and await close_code(b) == 1000
    stored = await harness.services.store.get_match(match.id)
    assert stored is not None and stored.status == "finished"
    assert stored.result == {k: v for k, v in result.items() if k != "type"}
    # A finished match refuses new sockets with 4010.
    late = harness.communicator(match.id, harness.token(match, 0))
    await late.connect()
    assert (await receive(late))["code"] == "match_over"
    assert await close_code(late) == 4010


async def test_a_recorded_match_replays_to_the_same_result(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(arena_time_limit_seconds=1.5, record_replays=True)
    match = await harness.new_match(players=2)
    a, _ = await harness.join(match, 0)
    b, _ = await harness.join(match, 1)
    for seq in range(1, 31):  # play: move, aim and fire while the match runs
        snap = await receive_until(a, lambda m: m["type"] in ("snapshot", "result"))
        if snap["type"] == "result":
            break
        await a.send_to(text_data=input_frame(seq, dx=(-1) ** seq * 0.5, fire=seq % 3 == 0))
    result = await receive_until(b, lambda m: m["type"] == "result")
    stored = await harness.services.store.get_replay(match.id)
    assert stored is not None and stored["seed"] == match.seed and stored["inputs"]
    _, outcome = replay(
        harness.services.modes["arena"], 2, match.seed, stored["inputs"], stored["ticks"]
    )
    assert outcome is not None and outcome.reason == result["reason"]
    assert [(s.score, s.shots, s.hits) for s in outcome.stats] == [
        (p["score"], p["shots"], p["hits"]) for p in result["players"]
    ]
    assert sum(p["shots"] for p in result["players"]) > 0  # the inputs mattered


async def test_a_pod_that_loses_its_lease_lets_go_of_the_match(
    harness_factory: HarnessFactory,
) -> None:
    harness = await harness_factory(lease_ttl_seconds=0.6)
    host = harness.services.host
    match = await harness.new_match(players=2)
    ws, _ = await harness.join(match, 0)
    lease = host.owned.entry(match.id).lease
    # Another pod takes the match over (as after a long pause of this one).
    await host.directory.release(lease)
    stolen = await host.directory.claim(match.id, "pod-elsewhere", "chan-elsewhere")
    assert stolen.epoch == lease.epoch + 1
    # Within a renewal period the fenced pod closes its sockets so they reconnect elsewhere.
    assert await close_code(ws, timeout=3) == 1012
    assert match.id not in host.owned
    stored = await harness.services.store.get_match(match.id)
    assert stored is not None and stored.status != "finished"  # it wrote no result


async def test_a_client_at_the_tick_rate_is_never_throttled(harness: Harness) -> None:
    """An input per snapshot, a ping a second, and the burst a client sends after a short
    network stall: all within the socket's limits (tests/security has the over-limit side)."""
    match = await harness.new_match(players=1)
    ws, _ = await harness.join(match, 0)
    seq, kinds = 0, []
    for n in range(60):  # two seconds of play
        message = await receive_until(ws, lambda m: m["type"] in ("snapshot", "pong", "error"))
        kinds.append(message["type"])
        seq += 1
        await ws.send_to(text_data=input_frame(seq))
        if n % 30 == 0:
            await ws.send_to(text_data=f'{{"type":"ping","t":{n}}}')
    for _ in range(12):  # half a second of inputs held back by the network, all at once
        seq += 1
        await ws.send_to(text_data=input_frame(seq))
    # More than the buffer's 4: the oldest are dropped, each said so, but none throttled.
    acked = await receive_until(
        ws, lambda m: m.get("ack") == seq or (m["type"] == "error" and m["code"] != "input_dropped")
    )
    assert acked["type"] == "snapshot" and "error" not in kinds
    await ws.disconnect()


async def test_an_input_that_crosses_the_end_gets_no_error_only_the_result(
    harness_factory: HarnessFactory,
) -> None:
    """Between the final tick and the result (stored first, then sent) a player's inputs
    keep coming: they are ignored quietly, never answered with an error."""
    harness = await harness_factory(arena_time_limit_seconds=1)
    store = harness.services.store
    hold = asyncio.Event()
    finish_match = store.finish_match

    async def slow_finish_match(*args: object, **kwargs: object) -> object:
        await hold.wait()  # the result's write takes its time
        return await finish_match(*args, **kwargs)  # type: ignore[arg-type]

    store.finish_match = slow_finish_match  # type: ignore[method-assign]
    match = await harness.new_match(players=1)
    ws, _ = await harness.join(match, 0)
    host = harness.services.host
    for _ in range(300):
        if host.owned.get(match.id).status == "finished":
            break
        await asyncio.sleep(0.01)
    assert host.owned.get(match.id).status == "finished"
    for seq in range(1000, 1005):
        await ws.send_to(text_data=input_frame(seq))
    await asyncio.sleep(0.1)
    hold.set()
    result = await receive_until(ws, lambda m: m["type"] in ("result", "error"))
    assert result["type"] == "result"
    assert await close_code(ws) == 1000
