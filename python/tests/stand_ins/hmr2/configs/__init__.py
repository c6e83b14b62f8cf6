import os

# As in 4D-Humans' hmr2/configs: $HOME/.cache/4DHumans.
CACHE_DIR_4DHUMANS = os.path.join(os.path.expanduser("~"), ".cache", "4DHumans")
