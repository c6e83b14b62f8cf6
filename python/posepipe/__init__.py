"""posepipe's Python side: the JSON-lines tracker worker and its backends (see posepipe_worker.py)."""

#: The schema string written into every chunk pickle; bump when its structure changes.
CHUNK_SCHEMA = "posepipe.chunk/1"
