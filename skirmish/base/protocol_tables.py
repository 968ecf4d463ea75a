"""The tables of the match socket's protocol: the envelope's fields and limits, the close
codes and the error codes, as protocol_schema.py publishes them. The realtime layer keeps
its own copies on the hot path; tests/realtime/test_protocol_conformance.py checks that
the two agree.
"""

from __future__ import annotations

from game.modes.base import JSON

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SUBPROTOCOL = "skirmish.v1"

# The largest `seq` (and `ack`, `last_seq`) and the bound of an integer ping time: the
# largest integer a JavaScript number holds exactly. realtime/messages.py's MAX_SEQ.
MAX_SEQ = (1 << 53) - 1

# -- the envelope: the one definition of the fields the realtime layer checks -------------

INPUT_ENVELOPE: JSON = {
    "type": {"const": "input"},
    "seq": {
        "type": "integer",
        "minimum": 1,
        "maximum": MAX_SEQ,
        "description": (
            "strictly increasing per player: a seq not above the last one the server "
            "holds is ignored (a duplicate or a resend); after a reconnect resend the "
            "unacknowledged inputs above `welcome.last_seq`, then continue. Written as an "
            "integer: `1.0` or `1e0` is refused."
        ),
    },
}

PING: JSON = {
    "type": {"const": "ping"},
    "t": {
        "type": "number",
        "minimum": -MAX_SEQ,
        "maximum": MAX_SEQ,
        "description": (
            "the client's clock (any unit), echoed in the `pong`; an integer beyond "
            "±(2^53 - 1) is refused"
        ),
    },
}

# The fields the server puts in every snapshot, before the mode's view's own.
SNAPSHOT_FIELDS: JSON = {
    "type": {"const": "snapshot"},
    "ack": {
        "type": "integer",
        "minimum": 0,
        "maximum": MAX_SEQ,
        "description": "the last of YOUR input seqs applied at or before this tick (0: none)",
    },
    "tick": {"type": "integer", "minimum": 1, "description": "the tick just stepped"},
    "online": {
        "type": "array",
        "items": {"type": "integer", "minimum": 0},
        "uniqueItems": True,
        "description": "the slots whose players are connected, ascending",
    },
}

# Every close code the server sends: realtime/close_codes.py's CloseCode, name and comment.
CLOSE_CODES: tuple[tuple[int, str, str], ...] = (
    (1000, "NORMAL", "the match is over, or a lobby socket's lobby started, closed or was left"),
    (1008, "POLICY", "flooding, persistent bad input, a reader too slow for its backlog"),
    (1009, "TOO_BIG", "a frame over the size limit"),
    (1011, "INTERNAL", "the match (or the lobby socket's room) failed on the server"),
    (1012, "RESTART", "the pod restarts or the match moved: reconnect"),
    (
        1013,
        "TRY_LATER",
        "a spectator's match has no pod yet, or the pod plays enough replays",
    ),
    (4001, "UNAUTHORIZED", "missing, bad or expired token"),
    (
        4003,
        "FORBIDDEN",
        "origin not allowed, token for another match, not a player or lobby member",
    ),
    (4004, "NOT_FOUND", "no such match or lobby, or the match's mode is not played here"),
    (
        4008,
        "IDLE",
        "sent nothing for the idle timeout while the match ran (a lobby socket: twice it)",
    ),
    (4009, "REPLACED", "the same player connected again elsewhere"),
    (4010, "MATCH_OVER", "the match is over: its result is at /v1/matches/{id}"),
    (4029, "TOO_MANY_SOCKETS", "the player holds too many sockets (match and lobby) on this pod"),
)

# Every `error.code` the match and lobby sockets send, and when.
ERROR_CODES: dict[str, str] = {
    "bad_json": "the frame is not JSON, or not a JSON object (NaN and infinities included)",
    "unknown_type": (
        "the message's `type` is not `input` or `ping` (a lobby socket: `chat` or `ping`; "
        "a spectator socket: `ping`)"
    ),
    "invalid_message": "wrong, missing or extra fields, out-of-range or non-finite numbers",
    "rate_limited": (
        "a message over the socket's rate limits was dropped (one such error per 10 s "
        "window; the socket is closed with 1008 if it goes on)"
    ),
    "input_dropped": (
        "the input `seq` was pushed out of the full input buffer and is never applied "
        "(not a bad message: it does not count towards the 1008 close)"
    ),
    "unauthorized": (
        "the token (a match token; a lobby socket: the player token) is missing, malformed, "
        "badly signed or expired (4001)"
    ),
    "forbidden": (
        "the token is for another match, or not for a player of it; or not a member of the "
        "lobby (4003)"
    ),
    "origin_not_allowed": "a browser page from an origin that is not allowed (4003)",
    "too_many_connections": (
        "too many sockets (match and lobby) of this player on the server (4029)"
    ),
    "not_found": (
        "no such match, or its mode is not played on this server; or no such lobby, a "
        "private one included (4004)"
    ),
    "match_over": "the match is over; its result is at GET /v1/matches/{id} (4010)",
    "server_restarting": "the server is restarting or the match moved: reconnect (1012)",
    "bad_request": "the match is owned by another server this one cannot reach (1011)",
    "replaced": "the same player connected again on another socket (4009)",
    "idle_timeout": (
        "nothing received while the match ran, for the idle timeout; on a lobby or "
        "spectator socket for twice it (4008)"
    ),
    "input_refused": "a spectator sent an input: spectators cannot (a bad message)",
    "try_later": (
        "the match is not under way on any server yet, or this server plays as many "
        "recordings as it may: try again (1013)"
    ),
}

CLIENT_MESSAGES = ("input", "ping", "chat")
SERVER_MESSAGES = (
    "welcome", "waiting", "start", "snapshot", "pong", "error", "result", "reconnect",
    "announcement", "spectators", "chatLine",
)  # fmt: skip
RECONNECT_REASONS = ("server_restarting", "match_moved")
MATCH_STATUSES = ("waiting", "running", "finished")

SLOT: JSON = {"type": "integer", "minimum": 0}
COUNT: JSON = {"type": "integer", "minimum": 0}
TEXT: JSON = {"type": "string", "minLength": 1}
# A player's line of a result, without the ratings.
PLAYER_STATS: JSON = {
    "player_id": TEXT,
    "name": {"type": "string"},
    "slot": SLOT,
    "score": {"type": "integer"},
    "kills": COUNT,
    "deaths": COUNT,
    "shots": COUNT,
    "hits": COUNT,
}

# -- the lobby socket (/ws/lobbies/{lobby_id}) ---------------------------------------------

LOBBY_CLIENT_MESSAGES = ("chat", "ping")
LOBBY_SERVER_MESSAGES = ("lobby", "chat", "announcement", "pong", "error", "reconnect")
# What a `lobby` message says happened: realtime/lobby_messages.py's LOBBY_EVENTS.
LOBBY_EVENTS: tuple[tuple[str, str], ...] = (
    ("snapshot", "the lobby as it is: on connect, or after a change this socket missed"),
    ("joined", "a player joined"),
    ("left", "a player left (you, if you are no longer a member: the socket closes)"),
    ("ready", "a member's ready mark changed"),
    ("settings", "the host changed the settings (everyone's ready mark is cleared)"),
    ("started", "the match started: `lobby.match` is your own match access"),
    ("closed", "the last member left"),
)
# The fields of the lobby body (REST's LobbyOut, GET /v1/lobbies/{id}).
LOBBY_FIELDS = (
    "id", "name", "mode", "settings", "host_id", "max_players", "status", "members",
    "created_at", "match", "private", "code", "revision", "spectators",
)  # fmt: skip
CHAT_MAX_CHARS = 200  # realtime/lobby_messages.py's, after trimming

# -- the spectator socket (/ws/matches/{match_id}/spectate) --------------------------------

SPECTATOR_CLIENT_MESSAGES = ("ping",)
SPECTATOR_SERVER_MESSAGES = (
    "spectating", "snapshot", "spectators", "pong", "error", "result", "reconnect",
)  # fmt: skip
