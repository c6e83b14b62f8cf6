"""Stand-in for brjathu/PHALP's phalp package (see ../README.md)."""
__version__ = "0.0-standin"
# Only the stand-ins run on the CPU: posepipe refuses device cpu for a real PHALP install.
POSEPIPE_STAND_IN = True
