# Declarations of the compiled decoder: the bounded reader and the wire types.

from cpython.object cimport PyObject
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t


cdef enum WireType:
    WT_VARINT = 0
    WT_I64 = 1
    WT_LEN = 2
    WT_SGROUP = 3
    WT_EGROUP = 4
    WT_I32 = 5


# A window [pos, end) over a buffer; every read checks it first. Offsets in
# errors are positions in ``buf``, i.e. from the start of the buffer being parsed.
# ``owner`` is the bytes object ``buf`` points into (borrowed: it outlives the reader),
# kept so that parts can name their slice of it for their lazy fields.
cdef struct Reader:
    const uint8_t* buf
    Py_ssize_t pos
    Py_ssize_t end
    PyObject* owner


# The fields of CommonMessageData that every event carries.
cdef struct Common:
    int64_t msg_id
    int64_t room_id
    int64_t create_time
    Py_ssize_t key_start   # display_text.key, -1 when absent
    Py_ssize_t key_len


cdef int read_varint(Reader* r, uint64_t* out) except -1
cdef int next_field(Reader* r, uint32_t* field, int* wt) except -1
cdef int skip_field(Reader* r, int wt) except -1
cdef int enter(Reader* r, int wt, Reader* sub) except -1
cdef int64_t read_int(Reader* r, int wt) except? -1
cdef str read_str(Reader* r, int wt)
