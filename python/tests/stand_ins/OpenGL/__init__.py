"""Stand-in for PyOpenGL: only the platform choice, made as PyOpenGL makes it (see platform/)."""
