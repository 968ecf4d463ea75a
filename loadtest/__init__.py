"""Load tests and the arena-30 benchmark (`make bench`); not part of the shipped package."""
