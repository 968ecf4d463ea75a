"""Skirmish's pure core: game modes, rules and matchmaking. No I/O, no clocks, no asyncio."""
