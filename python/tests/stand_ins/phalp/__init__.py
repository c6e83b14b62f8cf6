"""Stand-in for brjathu/PHALP's phalp package (see ../README.md)."""
__version__ = "0.0-standin"
