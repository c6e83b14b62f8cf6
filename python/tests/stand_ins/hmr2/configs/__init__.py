import os

# As in 4D-Humans: the cache folder under the home directory.
CACHE_DIR_4DHUMANS = os.path.join(os.path.expanduser("~"), ".cache", "4DHumans")
