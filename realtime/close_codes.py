"""Every WebSocket close code the server sends, as documented in docs/protocol.md."""

from __future__ import annotations


class CloseCode:
    NORMAL = 1000  # the match is over, or a lobby socket's lobby started, closed or was left
    POLICY = 1008  # flooding, persistent bad input, a reader too slow for its backlog
    TOO_BIG = 1009  # a frame over the size limit
    INTERNAL = 1011  # the match (or the lobby socket's room) failed on the server
    RESTART = 1012  # the pod restarts or the match moved: reconnect
    TRY_LATER = 1013  # a spectator's match has no pod yet, or the pod plays enough replays
    UNAUTHORIZED = 4001  # missing, bad or expired token
    FORBIDDEN = 4003  # origin not allowed, token for another match, not a player or lobby member
    NOT_FOUND = 4004  # no such match or lobby, or the match's mode is not played here
    IDLE = 4008  # sent nothing for the idle timeout while the match ran (a lobby socket: twice it)
    REPLACED = 4009  # the same player connected again elsewhere
    MATCH_OVER = 4010  # the match is over: its result is at /v1/matches/{id}
    TOO_MANY_SOCKETS = 4029  # the player holds too many sockets (match and lobby) on this pod
