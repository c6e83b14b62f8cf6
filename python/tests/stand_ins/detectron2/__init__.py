"""Stand-in for detectron2: only the version, which `posepipe doctor` reports."""
__version__ = "0.6-standin"
