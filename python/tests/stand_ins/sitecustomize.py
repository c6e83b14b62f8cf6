"""Python imports this at start-up when python/tests/stand_ins is on PYTHONPATH: the simulated GL
libraries of POSEPIPE_STANDIN_GL_LIBS (see _gl_host.py)."""
import _gl_host

_gl_host.simulate_from_env()
