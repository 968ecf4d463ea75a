"""The REST API: a Starlette app for auth, lobbies, matchmaking, matches and health."""
