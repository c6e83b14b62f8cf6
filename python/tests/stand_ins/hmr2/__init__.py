"""Stand-in for 4D-Humans' hmr2 package (see ../README.md)."""
__version__ = "0.0-standin"
