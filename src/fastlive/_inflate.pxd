# The decoder's gzip inflate, for ``cimport`` (a C call, no Python-level call per frame).

cdef bytes inflate_gzip(bytes payload, Py_ssize_t limit)
