"""Pure numeric core: numpy in, numbers out; no I/O, no printing."""
