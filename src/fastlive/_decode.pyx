# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The hot path: TikTok webcast push frames to fastlive events, and back.

No I/O, no logging. Every read goes through a bounded ``Reader`` that checks
the bytes that remain first; anything malformed raises ``DecodeError`` with
the offset and a reason. Field numbers are those of the v3 schema
(``proto/webcast.proto``); each decoder names the field it reads in a comment.

Only the fields users read are extracted; every event keeps its payload in
``raw`` for ``event.proto()``, and every part (``User``, ``Gift``...) the span of
its sub-message in it (``_src``), for the lazy fields of ``fastlive.events``. Of
a message, the top level and every field that is extracted are checked;
sub-messages that are skipped are checked by the protobuf runtime when read.
"""

cimport cython

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.object cimport PyObject, PyObject_GenericSetAttr
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcmp

from fastlive._inflate cimport inflate_gzip

from fastlive import events as _ev
from fastlive.batch import Batch
from fastlive.exceptions import DecodeError

from fastlive._config import DEFAULT_MAX_INFLATED_SIZE

# Event classes, cached as C globals (the decoder calls them positionally).
cdef object User = _ev.User
cdef object UserIdentity = _ev.UserIdentity
cdef object Gift = _ev.Gift
cdef object Emote = _ev.Emote
cdef object Contributor = _ev.Contributor
cdef object Envelope = _ev.Envelope
cdef object Question = _ev.Question
cdef object BattleResult = _ev.BattleResult
cdef object BattleAnchor = _ev.BattleAnchor
cdef object ArmyUser = _ev.ArmyUser
cdef object BattleArmy = _ev.BattleArmy
cdef object RankUpdate = _ev.RankUpdate
cdef object PollOption = _ev.PollOption
cdef object SubGoal = _ev.SubGoal
cdef object Goal = _ev.Goal
cdef object Caption = _ev.Caption
cdef object UnknownEvent = _ev.UnknownEvent
cdef object DecodeErrorEvent = _ev.DecodeErrorEvent
cdef object _Batch = Batch

cdef str EMPTY = ""
cdef str SRC = "_src"
cdef str IS_HISTORY = "is_history"

# ---------------------------------------------------------------------------
# Bounded reads


cdef int _fail(str reason, Py_ssize_t offset) except -1:
    raise DecodeError(reason, offset)


cdef int read_varint(Reader* r, uint64_t* out) except -1:
    cdef Py_ssize_t start = r.pos
    cdef uint64_t result = 0
    cdef int shift = 0
    cdef uint8_t b
    while True:
        if r.pos >= r.end:
            return _fail("truncated varint", start)
        b = r.buf[r.pos]
        r.pos += 1
        if shift == 63 and b > 1:
            return _fail("varint longer than 64 bits", start)
        result |= (<uint64_t>(b & 0x7F)) << shift
        if b < 0x80:
            out[0] = result
            return 0
        shift += 7


cdef int next_field(Reader* r, uint32_t* field, int* wt) except -1:
    """Read the next tag: 1 with field and wire type set, 0 at the end of the window."""
    cdef uint64_t tag
    cdef Py_ssize_t start = r.pos
    if r.pos >= r.end:
        return 0
    if r.buf[r.pos] < 0x80:  # one-byte tag: fields 1-15
        tag = r.buf[r.pos]
        r.pos += 1
    else:
        read_varint(r, &tag)
    if tag >> 3 == 0 or tag >> 3 > 0x1FFFFFFF:
        return _fail("invalid field number", start)
    field[0] = <uint32_t>(tag >> 3)
    wt[0] = <int>(tag & 7)
    return 1


cdef int skip_field(Reader* r, int wt) except -1:
    cdef uint64_t v
    cdef Py_ssize_t start = r.pos
    if wt == WT_VARINT:
        read_varint(r, &v)
    elif wt == WT_LEN:
        read_varint(r, &v)
        if v > <uint64_t>(r.end - r.pos):
            return _fail("length past the end", start)
        r.pos += <Py_ssize_t>v
    elif wt == WT_I64:
        if r.end - r.pos < 8:
            return _fail("truncated fixed64", start)
        r.pos += 8
    elif wt == WT_I32:
        if r.end - r.pos < 4:
            return _fail("truncated fixed32", start)
        r.pos += 4
    else:
        return _fail(f"unsupported wire type {wt}", start)
    return 0


cdef int enter(Reader* r, int wt, Reader* sub) except -1:
    """Open a length-delimited field as a sub-window and step over it."""
    cdef uint64_t n
    cdef Py_ssize_t start = r.pos
    if wt != WT_LEN:
        return _fail(f"wrong wire type {wt} for a length-delimited field", start)
    read_varint(r, &n)
    if n > <uint64_t>(r.end - r.pos):
        return _fail("length past the end", start)
    sub.buf = r.buf
    sub.pos = r.pos
    sub.end = r.pos + <Py_ssize_t>n
    sub.owner = r.owner
    r.pos = sub.end
    return 0


cdef int64_t read_int(Reader* r, int wt) except? -1:
    """A varint field (int32/int64/enum/bool) as a signed 64-bit value."""
    cdef uint64_t v
    if wt != WT_VARINT:
        _fail(f"wrong wire type {wt} for a varint field", r.pos)
    read_varint(r, &v)
    return <int64_t>v


cdef inline int32_t read_int32(Reader* r, int wt) except? -1:
    return <int32_t>read_int(r, wt)


cdef str read_str(Reader* r, int wt):
    cdef Reader s
    enter(r, wt, &s)
    return _text(&s)


cdef str _text(Reader* s):
    if s.end == s.pos:
        return EMPTY
    try:
        return PyUnicode_DecodeUTF8(<const char*>(s.buf + s.pos), s.end - s.pos, NULL)
    except UnicodeDecodeError:
        _fail("invalid UTF-8 in a string field", s.pos)


cdef str read_opaque(Reader* r, int wt):
    """An opaque token (cursor, internal_ext): bytes that are not UTF-8 survive as
    surrogate escapes, so ``.encode("utf-8", "surrogateescape")`` gives them back."""
    cdef Reader s
    enter(r, wt, &s)
    if s.end == s.pos:
        return EMPTY
    return PyUnicode_DecodeUTF8(<const char*>(s.buf + s.pos), s.end - s.pos, "surrogateescape")


cdef inline Reader _reader(bytes data):
    cdef Reader r
    r.buf = <const uint8_t*>PyBytes_AS_STRING(data)
    r.pos = 0
    r.end = PyBytes_GET_SIZE(data)
    r.owner = <PyObject*>data
    return r


@cython.freelist(64)
@cython.final
@cython.no_gc  # holds a bytes and a str only: no cycles, and no GC tracking on the hot path
cdef class _Span:
    """Where a part's sub-message lies in its payload: ``type`` at ``raw[start:end]``."""
    cdef readonly bytes raw
    cdef readonly Py_ssize_t start
    cdef readonly Py_ssize_t end
    cdef readonly str type

    def payload(self):
        """The sub-message's bytes."""
        return self.raw[self.start:self.end]


cdef inline object _attach(object part, Reader* s, Py_ssize_t start, str type):
    """Record the part's span (``s`` is its window, opened at ``start``) in its ``__dict__``."""
    cdef _Span span = _Span.__new__(_Span)
    span.raw = <bytes>s.owner
    span.start = start
    span.end = s.end
    span.type = type
    PyObject_GenericSetAttr(part, SRC, span)
    return part


cdef inline bytes _slice(Reader* s):
    return PyBytes_FromStringAndSize(<const char*>(s.buf + s.pos), s.end - s.pos)


cdef list _append_ints(Reader* r, int wt, list out):
    """A repeated int64 field, packed or not."""
    cdef Reader s
    cdef uint64_t v
    if out is None:
        out = []
    if wt == WT_LEN:
        enter(r, wt, &s)
        while s.pos < s.end:
            read_varint(&s, &v)
            out.append(<int64_t>v)
    else:
        out.append(read_int(r, wt))
    return out


# ---------------------------------------------------------------------------
# Shared parts


cdef int _common(Reader* r, int wt, Common* c) except -1:
    """CommonMessageData (field 1 of every message): ids, time, display key."""
    cdef Reader s, t
    cdef uint32_t f
    cdef int w
    enter(r, wt, &s)
    while next_field(&s, &f, &w):
        if f == 2:  # msg_id
            c.msg_id = read_int(&s, w)
        elif f == 3:  # room_id
            c.room_id = read_int(&s, w)
        elif f == 4:  # create_time
            c.create_time = read_int(&s, w)
        elif f == 8:  # display_text: Text
            _text_key(&s, w, &t)
            c.key_start = t.pos
            c.key_len = t.end - t.pos
        else:
            skip_field(&s, w)
    return 0


cdef inline void _common_init(Common* c) noexcept:
    c.msg_id = 0
    c.room_id = 0
    c.create_time = 0
    c.key_start = -1
    c.key_len = 0


cdef int _text_key(Reader* r, int wt, Reader* key) except -1:
    """Text.key (field 1) as a window; empty when absent."""
    cdef Reader s
    cdef uint32_t f
    cdef int w
    enter(r, wt, &s)
    key.buf = s.buf
    key.pos = s.pos
    key.end = s.pos
    key.owner = s.owner
    while next_field(&s, &f, &w):
        if f == 1:
            enter(&s, w, key)
        else:
            skip_field(&s, w)
    return 0


cdef str _key_str(Reader* r, int wt):
    cdef Reader key
    _text_key(r, wt, &key)
    return _text(&key)


cdef str _common_key(bytes raw, Common* c):
    cdef Reader k
    if c.key_start < 0:
        return EMPTY
    k = _reader(raw)
    k.pos = c.key_start
    k.end = c.key_start + c.key_len
    return _text(&k)


cdef str _image_url(Reader* r, int wt):
    """ImageModel.url_list[0]."""
    cdef Reader s
    cdef uint32_t f
    cdef int w
    cdef str url = None
    enter(r, wt, &s)
    while next_field(&s, &f, &w):
        if f == 1 and url is None:
            url = read_str(&s, w)
        else:
            skip_field(&s, w)
    return EMPTY if url is None else url


cdef object _user(Reader* r, int wt):
    """User: the fields of ``fastlive.events.User``."""
    cdef Reader s, t, u
    cdef uint32_t f
    cdef int w, w2, w3
    cdef uint32_t f2, f3
    cdef int64_t uid = 0, following = 0, followers = 0, follow_status = 0
    cdef int64_t gifter_level = 0, fan_level = 0
    cdef bint verified = False
    cdef str nickname = EMPTY, unique_id = EMPTY, sec_uid = EMPTY, avatar = EMPTY
    cdef str club = EMPTY
    enter(r, wt, &s)
    cdef Py_ssize_t start = s.pos
    while next_field(&s, &f, &w):
        if f == 1:  # id
            uid = read_int(&s, w)
        elif f == 3:  # nickname
            nickname = read_str(&s, w)
        elif f == 38:  # display_id: the @handle
            unique_id = read_str(&s, w)
        elif f == 46:  # sec_uid
            sec_uid = read_str(&s, w)
        elif f == 9:  # avatar_thumb
            avatar = _image_url(&s, w)
        elif f == 12:  # verified
            verified = read_int(&s, w) != 0
        elif f == 22:  # follow_info
            enter(&s, w, &t)
            while next_field(&t, &f2, &w2):
                if f2 == 1:
                    following = read_int(&t, w2)
                elif f2 == 2:
                    followers = read_int(&t, w2)
                elif f2 == 3:
                    follow_status = read_int(&t, w2)
                else:
                    skip_field(&t, w2)
        elif f == 23:  # pay_grade: UserHonor.level (6)
            enter(&s, w, &t)
            while next_field(&t, &f2, &w2):
                if f2 == 6:
                    gifter_level = read_int32(&t, w2)
                else:
                    skip_field(&t, w2)
        elif f == 24:  # fans_club: FansClubMember.data (1) -> club_name (1), level (2)
            enter(&s, w, &t)
            while next_field(&t, &f2, &w2):
                if f2 == 1:
                    enter(&t, w2, &u)
                    while next_field(&u, &f3, &w3):
                        if f3 == 1:
                            club = read_str(&u, w3)
                        elif f3 == 2:
                            fan_level = read_int32(&u, w3)
                        else:
                            skip_field(&u, w3)
                else:
                    skip_field(&t, w2)
        else:
            skip_field(&s, w)
    return _attach(User(uid, unique_id, nickname, sec_uid, avatar, verified, following,
                        followers, follow_status, gifter_level, club, fan_level),
                   &s, start, "User")


cdef object _user_identity(Reader* r, int wt):
    cdef Reader s
    cdef uint32_t f
    cdef int w
    cdef bint flags[7]
    cdef int i
    for i in range(7):
        flags[i] = False
    enter(r, wt, &s)
    cdef Py_ssize_t start = s.pos
    while next_field(&s, &f, &w):
        if 1 <= f <= 6:
            flags[f] = read_int(&s, w) != 0
        else:
            skip_field(&s, w)
    return _attach(UserIdentity(flags[1], flags[2], flags[3], flags[4], flags[5], flags[6]),
                   &s, start, "UserIdentity")


cdef object _emote(Reader* r, int wt, int32_t index):
    """EmoteModel: emote_id (1), image (2)."""
    cdef Reader s
    cdef uint32_t f
    cdef int w
    cdef str emote_id = EMPTY, url = EMPTY
    enter(r, wt, &s)
    cdef Py_ssize_t start = s.pos
    while next_field(&s, &f, &w):
        if f == 1:
            emote_id = read_str(&s, w)
        elif f == 2:
            url = _image_url(&s, w)
        else:
            skip_field(&s, w)
    return _attach(Emote(emote_id, url, index), &s, start, "EmoteModel")


cdef object _emote_with_index(Reader* r, int wt):
    """EmoteWithIndex: index (1), emote (2)."""
    cdef Reader s, e
    cdef uint32_t f
    cdef int w
    cdef int32_t index = 0
    cdef bint have = False
    cdef int ew = 0
    enter(r, wt, &s)
    cdef Py_ssize_t start = s.pos
    while next_field(&s, &f, &w):
        if f == 1:
            index = read_int32(&s, w)
        elif f == 2:
            e = s
            ew = w
            have = True
            skip_field(&s, w)
        else:
            skip_field(&s, w)
    # The span is the EmoteWithIndex's (TikTokLive's ``emotes[i].emote``), not the emote's.
    return _attach(_emote(&e, ew, index) if have else Emote(EMPTY, EMPTY, index),
                   &s, start, "EmoteWithIndex")


# ---------------------------------------------------------------------------
# One decoder per message type: (raw payload) -> event


cdef object _generic(bytes raw, object cls):
    """Base fields only (known methods kept as payloads)."""
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        else:
            skip_field(&r, w)
    return cls(c.msg_id, c.room_id, c.create_time, raw)


cdef object _chat(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    cdef object user = None, identity = None
    cdef str content = EMPTY, lang = EMPTY
    cdef list emotes = []
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # user
            user = _user(&r, w)
        elif f == 3:  # content
            content = read_str(&r, w)
        elif f == 13:  # emotes: repeated EmoteWithIndex
            emotes.append(_emote_with_index(&r, w))
        elif f == 14:  # content_language
            lang = read_str(&r, w)
        elif f == 18:  # user_identity
            identity = _user_identity(&r, w)
        else:
            skip_field(&r, w)
    return _ev.CommentEvent(c.msg_id, c.room_id, c.create_time, raw, user, content, lang,
                            identity, emotes)


cdef object _gift_struct(Reader* r, int wt):
    """GiftStruct: image (1), describe (2), id (5), combo (10), type (11), diamonds (12), name (16)."""
    cdef Reader s
    cdef uint32_t f
    cdef int w
    cdef int64_t gid = 0, diamonds = 0, gtype = 0
    cdef bint combo = False
    cdef str name = EMPTY, image = EMPTY, describe = EMPTY
    enter(r, wt, &s)
    cdef Py_ssize_t start = s.pos
    while next_field(&s, &f, &w):
        if f == 5:
            gid = read_int(&s, w)
        elif f == 16:
            name = read_str(&s, w)
        elif f == 12:
            diamonds = read_int32(&s, w)
        elif f == 11:
            gtype = read_int32(&s, w)
        elif f == 10:
            combo = read_int(&s, w) != 0
        elif f == 1:
            image = _image_url(&s, w)
        elif f == 2:
            describe = read_str(&s, w)
        else:
            skip_field(&s, w)
    return _attach(Gift(gid, name, diamonds, gtype, combo, image, describe), &s, start, "Gift")


cdef object _gift(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    cdef object user = None, to_user = None, gift = None, identity = None
    cdef int64_t gift_id = 0, repeat_count = 0, repeat_end = 0, combo_count = 0
    cdef int64_t group_id = 0, group_count = 0, send_type = 0, fan_tickets = 0
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # gift_id
            gift_id = read_int(&r, w)
        elif f == 3:  # fan_ticket_count
            fan_tickets = read_int32(&r, w)
        elif f == 4:  # group_count
            group_count = read_int32(&r, w)
        elif f == 5:  # repeat_count
            repeat_count = read_int32(&r, w)
        elif f == 6:  # combo_count
            combo_count = read_int32(&r, w)
        elif f == 7:  # user
            user = _user(&r, w)
        elif f == 8:  # to_user
            to_user = _user(&r, w)
        elif f == 9:  # repeat_end
            repeat_end = read_int32(&r, w)
        elif f == 11:  # group_id
            group_id = read_int(&r, w)
        elif f == 15:  # gift
            gift = _gift_struct(&r, w)
        elif f == 17:  # send_type
            send_type = read_int(&r, w)
        elif f == 32:  # user_identity
            identity = _user_identity(&r, w)
        else:
            skip_field(&r, w)
    return _ev.GiftEvent(c.msg_id, c.room_id, c.create_time, raw, user, to_user, gift_id, gift,
                         repeat_count, repeat_end, combo_count, group_id, group_count, send_type,
                         fan_tickets, identity)


cdef object _like(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    cdef object user = None
    cdef int64_t count = 0, total = 0
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # count
            count = read_int32(&r, w)
        elif f == 3:  # total
            total = read_int(&r, w)
        elif f == 5:  # user
            user = _user(&r, w)
        else:
            skip_field(&r, w)
    return _ev.LikeEvent(c.msg_id, c.room_id, c.create_time, raw, user, count, total)


cdef object _member(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    cdef object user = None
    cdef int64_t member_count = 0, action = 0, enter_type = 0
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # user
            user = _user(&r, w)
        elif f == 3:  # member_count
            member_count = read_int32(&r, w)
        elif f == 9:  # enter_type
            enter_type = read_int32(&r, w)
        elif f == 10:  # action
            action = read_int32(&r, w)
        else:
            skip_field(&r, w)
    return _ev.JoinEvent(c.msg_id, c.room_id, c.create_time, raw, user, member_count, action,
                         enter_type)


cdef object _social(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    cdef object user = None, cls
    cdef int64_t action = 0, share_type = 0, follow_count = 0, share_count = 0
    cdef str target = EMPTY, key
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # user
            user = _user(&r, w)
        elif f == 3:  # share_type
            share_type = read_int(&r, w)
        elif f == 4:  # action
            action = read_int(&r, w)
        elif f == 5:  # share_target
            target = read_str(&r, w)
        elif f == 6:  # follow_count
            follow_count = read_int(&r, w)
        elif f == 8:  # share_count
            share_count = read_int32(&r, w)
        else:
            skip_field(&r, w)
    key = _common_key(raw, &c)
    # Follow or share is told by the display key, not by ``action`` (protocol notes, section 5).
    if "follow" in key:
        cls = _ev.FollowEvent
    elif "share" in key:
        cls = _ev.ShareEvent
    else:
        cls = _ev.SocialEvent
    return cls(c.msg_id, c.room_id, c.create_time, raw, user, key, action, share_type, target,
               follow_count, share_count)


cdef object _room_user_seq(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Reader s
    cdef Common c
    cdef uint32_t f, f2
    cdef int w, w2
    cdef int64_t total = 0, total_user = 0, popularity = 0, anonymous = 0
    cdef int64_t score, rank
    cdef Py_ssize_t start
    cdef object user
    cdef list ranks = []
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # ranks: repeated Contributor {score 1, user 2, rank 3}
            enter(&r, w, &s)
            start = s.pos
            score = rank = 0
            user = None
            while next_field(&s, &f2, &w2):
                if f2 == 1:
                    score = read_int(&s, w2)
                elif f2 == 2:
                    user = _user(&s, w2)
                elif f2 == 3:
                    rank = read_int(&s, w2)
                else:
                    skip_field(&s, w2)
            ranks.append(_attach(Contributor(user, score, rank), &s, start, "Contributor"))
        elif f == 3:  # total
            total = read_int(&r, w)
        elif f == 6:  # popularity
            popularity = read_int(&r, w)
        elif f == 7:  # total_user
            total_user = read_int(&r, w)
        elif f == 8:  # anonymous
            anonymous = read_int(&r, w)
        else:
            skip_field(&r, w)
    return _ev.RoomUserSeqEvent(c.msg_id, c.room_id, c.create_time, raw, total, total_user,
                                popularity, anonymous, ranks)


cdef object _control(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    cdef int64_t action = 0
    cdef str tips = EMPTY
    cdef object cls
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # action
            action = read_int32(&r, w)
        elif f == 3:  # tips
            tips = read_str(&r, w)
        else:
            skip_field(&r, w)
    if action == 1:
        cls = _ev.LivePauseEvent
    elif action == 2:
        cls = _ev.LiveUnpauseEvent
    elif action == 3 or action == 4:  # ended by the host, or suspended by TikTok
        cls = _ev.LiveEndEvent
    else:
        cls = _ev.ControlEvent
    return cls(c.msg_id, c.room_id, c.create_time, raw, action, tips)


cdef object _emote_chat(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    cdef object user = None, identity = None
    cdef list emotes = []
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # user
            user = _user(&r, w)
        elif f == 3:  # emote_list
            emotes.append(_emote(&r, w, -1))
        elif f == 5:  # user_identity
            identity = _user_identity(&r, w)
        else:
            skip_field(&r, w)
    return _ev.EmoteChatEvent(c.msg_id, c.room_id, c.create_time, raw, user, emotes, identity)


cdef object _envelope(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Reader s
    cdef Common c
    cdef uint32_t f, f2
    cdef int w, w2
    cdef int64_t display = 0, business = 0, diamonds = 0, people = 0, unpack_at = 0
    cdef str eid = EMPTY, sender = EMPTY, sender_id = EMPTY
    cdef object envelope = None, cls
    cdef Py_ssize_t start
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # envelope_info: MessageRedEnvelopInfo
            enter(&r, w, &s)
            start = s.pos
            while next_field(&s, &f2, &w2):
                if f2 == 1:
                    eid = read_str(&s, w2)
                elif f2 == 2:
                    business = read_int32(&s, w2)
                elif f2 == 4:
                    sender = read_str(&s, w2)
                elif f2 == 5:
                    diamonds = read_int32(&s, w2)
                elif f2 == 6:
                    people = read_int32(&s, w2)
                elif f2 == 7:
                    unpack_at = read_int32(&s, w2)
                elif f2 == 8:
                    sender_id = read_str(&s, w2)
                else:
                    skip_field(&s, w2)
            envelope = _attach(Envelope(eid, business, sender, sender_id, diamonds, people,
                                        unpack_at), &s, start, "MessageRedEnvelopInfo")
        elif f == 3:  # display
            display = read_int32(&r, w)
        else:
            skip_field(&r, w)
    if business == 19 or "superfanbox" in _common_key(raw, &c):
        cls = _ev.SuperFanBoxEvent
    else:
        cls = _ev.EnvelopeEvent
    return cls(c.msg_id, c.room_id, c.create_time, raw, envelope, display)


cdef object _sub_notify(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    cdef object user = None
    cdef int64_t month = 0, sub_type = 0, old_status = 0, status = 0
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # user
            user = _user(&r, w)
        elif f == 4:  # sub_month
            month = read_int(&r, w)
        elif f == 5:  # subscribe_type
            sub_type = read_int32(&r, w)
        elif f == 6:  # old_subscribe_status
            old_status = read_int32(&r, w)
        elif f == 8:  # subscribing_status
            status = read_int32(&r, w)
        else:
            skip_field(&r, w)
    return _ev.SubNotifyEvent(c.msg_id, c.room_id, c.create_time, raw, user, month, sub_type,
                              old_status, status)


cdef object _question(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Reader s
    cdef Common c
    cdef uint32_t f, f2
    cdef int w, w2
    cdef int64_t qid = 0, created = 0
    cdef str content = EMPTY
    cdef object user = None, question = None
    cdef Py_ssize_t start
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # data: Question
            enter(&r, w, &s)
            start = s.pos
            while next_field(&s, &f2, &w2):
                if f2 == 1:
                    qid = read_int(&s, w2)
                elif f2 == 2:
                    content = read_str(&s, w2)
                elif f2 == 4:
                    created = read_int(&s, w2)
                elif f2 == 5:
                    user = _user(&s, w2)
                else:
                    skip_field(&s, w2)
            question = _attach(Question(qid, content, user, created), &s, start, "Question")
        else:
            skip_field(&r, w)
    return _ev.QuestionNewEvent(c.msg_id, c.room_id, c.create_time, raw, question)


cdef object _battle_result(Reader* r, int wt):
    """map<int64, BattleResult> entry: value (2) {user_id 1, result 2, score 3}."""
    cdef Reader s, t
    cdef uint32_t f, f2
    cdef int w, w2
    cdef int64_t uid = 0, result = 0, score = 0
    cdef Py_ssize_t start = -1
    enter(r, wt, &s)
    while next_field(&s, &f, &w):
        if f == 2:
            enter(&s, w, &t)
            start = t.pos
            while next_field(&t, &f2, &w2):
                if f2 == 1:
                    uid = read_int(&t, w2)
                elif f2 == 2:
                    result = read_int32(&t, w2)
                elif f2 == 3:
                    score = read_int(&t, w2)
                else:
                    skip_field(&t, w2)
        else:
            skip_field(&s, w)
    result_ = BattleResult(uid, result, score)
    return result_ if start < 0 else _attach(result_, &t, start, "BattleResult")


cdef object _battle_anchor(Reader* r, int wt):
    """BattleUserInfoWrapper: value (2) BattleUserInfo: user (1) BattleBaseUserInfo."""
    cdef Reader s, t, u
    cdef uint32_t f, f2, f3
    cdef int w, w2, w3
    cdef int64_t uid = 0, room_id = 0
    cdef str nickname = EMPTY, handle = EMPTY
    cdef Py_ssize_t start = -1
    enter(r, wt, &s)
    while next_field(&s, &f, &w):
        if f == 2:
            enter(&s, w, &t)
            while next_field(&t, &f2, &w2):
                if f2 == 1:
                    enter(&t, w2, &u)
                    start = u.pos
                    while next_field(&u, &f3, &w3):
                        if f3 == 1:
                            uid = read_int(&u, w3)
                        elif f3 == 2:
                            nickname = read_str(&u, w3)
                        elif f3 == 4:
                            handle = read_str(&u, w3)
                        elif f3 == 5:
                            room_id = read_int(&u, w3)
                        else:
                            skip_field(&u, w3)
                else:
                    skip_field(&t, w2)
        else:
            skip_field(&s, w)
    anchor = BattleAnchor(uid, nickname, handle, room_id)
    return anchor if start < 0 else _attach(anchor, &u, start, "BattleBaseUserInfo")


cdef object _battle(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Reader s
    cdef Common c
    cdef uint32_t f, f2
    cdef int w, w2
    cdef int64_t battle_id = 0, action = 0, status = 0, start_ms = 0, duration = 0
    cdef list results = [], anchors = []
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # battle_id
            battle_id = read_int(&r, w)
        elif f == 3:  # battle_settings
            enter(&r, w, &s)
            while next_field(&s, &f2, &w2):
                if f2 == 2:
                    start_ms = read_int(&s, w2)
                elif f2 == 3:
                    duration = read_int32(&s, w2)
                elif f2 == 5:
                    status = read_int32(&s, w2)
                else:
                    skip_field(&s, w2)
        elif f == 4:  # action
            action = read_int32(&r, w)
        elif f == 5:  # battle_result
            results.append(_battle_result(&r, w))
        elif f == 10:  # anchors_info
            anchors.append(_battle_anchor(&r, w))
        else:
            skip_field(&r, w)
    return _ev.LinkMicBattleEvent(c.msg_id, c.room_id, c.create_time, raw, battle_id, action,
                                  status, start_ms, duration, results, anchors)


cdef object _army(Reader* r, int wt):
    """map<int64, BattleUserArmies> entry: key (1) host id, value (2) {user_armies 1, hostscore 2}."""
    cdef Reader s, t, u
    cdef uint32_t f, f2, f3
    cdef int w, w2, w3
    cdef int64_t anchor = 0, host_score = 0, uid, score
    cdef Py_ssize_t start = -1, ustart
    cdef str nickname
    cdef list users = []
    enter(r, wt, &s)
    while next_field(&s, &f, &w):
        if f == 1:
            anchor = read_int(&s, w)
        elif f == 2:
            enter(&s, w, &t)
            start = t.pos
            while next_field(&t, &f2, &w2):
                if f2 == 1:  # BattleUserArmy {user_id 1, score 2, nickname 3}
                    enter(&t, w2, &u)
                    ustart = u.pos
                    uid = score = 0
                    nickname = EMPTY
                    while next_field(&u, &f3, &w3):
                        if f3 == 1:
                            uid = read_int(&u, w3)
                        elif f3 == 2:
                            score = read_int(&u, w3)
                        elif f3 == 3:
                            nickname = read_str(&u, w3)
                        else:
                            skip_field(&u, w3)
                    users.append(_attach(ArmyUser(uid, nickname, score), &u, ustart,
                                         "BattleUserArmy"))
                elif f2 == 2:
                    host_score = read_int(&t, w2)
                else:
                    skip_field(&t, w2)
        else:
            skip_field(&s, w)
    army = BattleArmy(anchor, host_score, users)
    return army if start < 0 else _attach(army, &t, start, "BattleUserArmies")


cdef object _armies(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Reader s
    cdef Common c
    cdef uint32_t f, f2
    cdef int w, w2
    cdef int64_t battle_id = 0, from_user = 0, gift_id = 0, gift_count = 0, repeat = 0
    cdef int64_t total_diamonds = 0, reason = 0, status = 0
    cdef list armies = []
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # battle_id
            battle_id = read_int(&r, w)
        elif f == 3:  # armies
            armies.append(_army(&r, w))
        elif f == 7:  # trigger_reason
            reason = read_int32(&r, w)
        elif f == 8:  # from_user_id
            from_user = read_int(&r, w)
        elif f == 9:  # gift_id
            gift_id = read_int(&r, w)
        elif f == 10:  # gift_count
            gift_count = read_int32(&r, w)
        elif f == 12:  # total_diamond_count
            total_diamonds = read_int32(&r, w)
        elif f == 13:  # repeat_count
            repeat = read_int32(&r, w)
        elif f == 18:  # battle_settings.status (5)
            enter(&r, w, &s)
            while next_field(&s, &f2, &w2):
                if f2 == 5:
                    status = read_int32(&s, w2)
                else:
                    skip_field(&s, w2)
        else:
            skip_field(&r, w)
    return _ev.LinkMicArmiesEvent(c.msg_id, c.room_id, c.create_time, raw, battle_id, armies,
                                  from_user, gift_id, gift_count, repeat, total_diamonds, reason,
                                  status)


cdef object _live_intro(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    cdef int64_t intro_id = 0, mode = 0
    cdef str content = EMPTY, lang = EMPTY
    cdef object user = None
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # id
            intro_id = read_int(&r, w)
        elif f == 4:  # content
            content = read_str(&r, w)
        elif f == 5:  # user
            user = _user(&r, w)
        elif f == 6:  # intro_mode
            mode = read_int32(&r, w)
        elif f == 8:  # content_language
            lang = read_str(&r, w)
        else:
            skip_field(&r, w)
    return _ev.LiveIntroEvent(c.msg_id, c.room_id, c.create_time, raw, intro_id, content, user,
                              mode, lang)


cdef object _room_pin(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Reader s
    cdef Common c
    cdef uint32_t f
    cdef int w
    cdef int64_t action = 0, pin_time = 0, pin_msg_id = 0
    cdef str pinned_method = EMPTY
    cdef object pinned = None, op_user = None
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif 2 <= f <= 6:  # chat, social, gift, member, like: exactly one is set
            enter(&r, w, &s)
            try:
                pinned = _TABLE[_PINNED[f]](_slice(&s))
            except DecodeError as exc:  # report the offset into this payload, not the pinned one
                raise DecodeError(exc.reason, exc.offset + s.pos) from None
        elif f == 30:  # method
            pinned_method = read_str(&r, w)
        elif f == 31:  # pin_time
            pin_time = read_int(&r, w)
        elif f == 32:  # operator
            op_user = _user(&r, w)
        elif f == 33:  # action
            action = read_int32(&r, w)
        elif f == 35:  # pin_msg_id
            pin_msg_id = read_int(&r, w)
        else:
            skip_field(&r, w)
    return _ev.RoomPinEvent(c.msg_id, c.room_id, c.create_time, raw, action, pin_time,
                            pinned_method, pinned, op_user, pin_msg_id)


cdef list _poll_options(Reader* r, int wt, list options):
    """PollOptionInfo: votes (1), display_content (2), option_idx (3)."""
    cdef Reader s
    cdef uint32_t f
    cdef int w
    cdef int64_t votes = 0, idx = 0
    cdef str text = EMPTY
    enter(r, wt, &s)
    cdef Py_ssize_t start = s.pos
    while next_field(&s, &f, &w):
        if f == 1:
            votes = read_int(&s, w)
        elif f == 2:
            text = read_str(&s, w)
        elif f == 3:
            idx = read_int32(&s, w)
        else:
            skip_field(&s, w)
    options.append(_attach(PollOption(idx, text, votes), &s, start, "PollOptionInfo"))
    return options


cdef object _poll(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Reader s
    cdef Common c
    cdef uint32_t f, f2
    cdef int w, w2
    cdef int64_t poll_id = 0, message_type = 0, kind = 0
    cdef str phase = EMPTY, title = EMPTY, basic_title = EMPTY
    cdef list options = []
    cdef object op_user = None
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # message_type
            message_type = read_int(&r, w)
        elif f == 3:  # poll_id
            poll_id = read_int(&r, w)
        elif f == 4 or f == 5 or f == 6:  # start / end / update_votes content
            phase = "start" if f == 4 else ("end" if f == 5 else "update")
            options = []
            enter(&r, w, &s)
            while next_field(&s, &f2, &w2):
                if f == 4 and f2 == 3 or f != 4 and f2 == 2:  # option_list
                    _poll_options(&s, w2, options)
                elif f == 4 and f2 == 4:  # PollStartContent.title
                    title = read_str(&s, w2)
                elif f == 4 and f2 == 5 or f != 4 and f2 == 3:  # operator
                    op_user = _user(&s, w2)
                else:
                    skip_field(&s, w2)
        elif f == 7:  # poll_kind
            kind = read_int32(&r, w)
        elif f == 8:  # poll_basic_info.title (3)
            enter(&r, w, &s)
            while next_field(&s, &f2, &w2):
                if f2 == 3:
                    basic_title = read_str(&s, w2)
                else:
                    skip_field(&s, w2)
        else:
            skip_field(&r, w)
    return _ev.PollEvent(c.msg_id, c.room_id, c.create_time, raw, poll_id, message_type, kind,
                         phase, title or basic_title, options, op_user)


cdef object _sub_goal(Reader* r, int wt):
    """LiveStreamSubGoal: type 1, id 2, progress 3, target 4, gift 5 {name 1, diamond_count 3}."""
    cdef Reader s, t
    cdef uint32_t f, f2
    cdef int w, w2
    cdef int64_t gtype = 0, gid = 0, progress = 0, target = 0, diamonds = 0
    cdef str gift_name = EMPTY
    enter(r, wt, &s)
    cdef Py_ssize_t start = s.pos
    while next_field(&s, &f, &w):
        if f == 1:
            gtype = read_int32(&s, w)
        elif f == 2:
            gid = read_int(&s, w)
        elif f == 3:
            progress = read_int(&s, w)
        elif f == 4:
            target = read_int(&s, w)
        elif f == 5:
            enter(&s, w, &t)
            while next_field(&t, &f2, &w2):
                if f2 == 1:
                    gift_name = read_str(&t, w2)
                elif f2 == 3:
                    diamonds = read_int(&t, w2)
                else:
                    skip_field(&t, w2)
        else:
            skip_field(&s, w)
    return _attach(SubGoal(gid, gtype, progress, target, gift_name, diamonds), &s, start,
                   "LiveStreamSubGoal")


cdef object _goal_update(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Reader s
    cdef Common c
    cdef uint32_t f, f2
    cdef int w, w2
    cdef int64_t contributor = 0, count = 0, score = 0, goal_id = 0, status = 0
    cdef str handle = EMPTY, description = EMPTY
    cdef list sub_goals
    cdef object goal = None
    cdef Py_ssize_t start
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 3:  # goal: LiveStreamGoal {id 1, status 3, sub_goals 4, description 5}
            enter(&r, w, &s)
            start = s.pos
            sub_goals = []
            while next_field(&s, &f2, &w2):
                if f2 == 1:
                    goal_id = read_int(&s, w2)
                elif f2 == 3:
                    status = read_int32(&s, w2)
                elif f2 == 4:
                    sub_goals.append(_sub_goal(&s, w2))
                elif f2 == 5:
                    description = read_str(&s, w2)
                else:
                    skip_field(&s, w2)
            goal = _attach(Goal(goal_id, description, status, sub_goals), &s, start,
                           "LiveStreamGoal")
        elif f == 4:  # contributor_id
            contributor = read_int(&r, w)
        elif f == 6:  # contributor_display_id
            handle = read_str(&r, w)
        elif f == 9:  # contribute_count
            count = read_int(&r, w)
        elif f == 10:  # contribute_score
            score = read_int(&r, w)
        else:
            skip_field(&r, w)
    return _ev.GoalUpdateEvent(c.msg_id, c.room_id, c.create_time, raw, goal, contributor,
                               handle, count, score)


cdef object _rank_update(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Reader s
    cdef Common c
    cdef uint32_t f, f2
    cdef int w, w2
    cdef int64_t group_type = 0, rank_type, own_rank, score, countdown
    cdef Py_ssize_t start
    cdef list updates = []
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # updates: RankUpdate {rank_type 1, own_rank 2, countdown 6, score 15}
            enter(&r, w, &s)
            start = s.pos
            rank_type = own_rank = score = countdown = 0
            while next_field(&s, &f2, &w2):
                if f2 == 1:
                    rank_type = read_int32(&s, w2)
                elif f2 == 2:
                    own_rank = read_int(&s, w2)
                elif f2 == 6:
                    countdown = read_int(&s, w2)
                elif f2 == 15:
                    score = read_int(&s, w2)
                else:
                    skip_field(&s, w2)
            updates.append(_attach(RankUpdate(rank_type, own_rank, score, countdown), &s, start,
                                   "RankUpdate"))
        elif f == 3:  # group_type
            group_type = read_int32(&r, w)
        else:
            skip_field(&r, w)
    return _ev.RankUpdateEvent(c.msg_id, c.room_id, c.create_time, raw, updates, group_type)


cdef object _hourly_rank(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Reader s
    cdef Common c
    cdef uint32_t f, f2
    cdef int w, w2
    cdef list winners = []
    cdef int64_t uid
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # winners: HourlyRankRewardInfo {user_id 1}
            enter(&r, w, &s)
            uid = 0
            while next_field(&s, &f2, &w2):
                if f2 == 1:
                    uid = read_int(&s, w2)
                else:
                    skip_field(&s, w2)
            winners.append(uid)
        else:
            skip_field(&r, w)
    return _ev.HourlyRankRewardEvent(c.msg_id, c.room_id, c.create_time, raw, winners)


cdef object _barrage(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    cdef int64_t msg_type = 0
    cdef str key = EMPTY, common_key = EMPTY, lowered
    cdef object user = None, cls
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 3:  # msg_type
            msg_type = read_int32(&r, w)
        elif f == 5:  # content: Text
            key = _key_str(&r, w)
        elif f == 24:  # common_barrage_content: Text
            common_key = _key_str(&r, w)
        elif f == 50:  # user
            user = _user(&r, w)
        else:
            skip_field(&r, w)
    lowered = (key + " " + common_key).lower()
    if "ttlive_superfan_commentnotif_superfanjoined" in lowered:
        cls = _ev.SuperFanJoinEvent
    elif "ttlive_superfan" in lowered:
        cls = _ev.SuperFanEvent
    else:
        cls = _ev.BarrageEvent
    return cls(c.msg_id, c.room_id, c.create_time, raw, msg_type, key or common_key, user)


cdef object _caption(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Reader s
    cdef Common c
    cdef uint32_t f, f2
    cdef int w, w2
    cdef int64_t ts = 0, duration = 0, sentence = 0, sequence = 0
    cdef bint definite = False
    cdef str lang, text
    cdef Py_ssize_t start
    cdef list content = []
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # timestamp_ms
            ts = read_int(&r, w)
        elif f == 3:  # duration_ms
            duration = read_int(&r, w)
        elif f == 4:  # content: CaptionContent {lang 1, content 2}
            enter(&r, w, &s)
            start = s.pos
            lang = text = EMPTY
            while next_field(&s, &f2, &w2):
                if f2 == 1:
                    lang = read_str(&s, w2)
                elif f2 == 2:
                    text = read_str(&s, w2)
                else:
                    skip_field(&s, w2)
            content.append(_attach(Caption(lang, text), &s, start, "CaptionContent"))
        elif f == 5:  # sentence_id
            sentence = read_int(&r, w)
        elif f == 6:  # sequence_id
            sequence = read_int(&r, w)
        elif f == 7:  # definite
            definite = read_int(&r, w) != 0
        else:
            skip_field(&r, w)
    return _ev.CaptionEvent(c.msg_id, c.room_id, c.create_time, raw, ts, duration, content,
                            sentence, sequence, definite)


cdef object _im_delete(bytes raw):
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    cdef list msg_ids = [], user_ids = []
    _common_init(&c)
    while next_field(&r, &f, &w):
        if f == 1:
            _common(&r, w, &c)
        elif f == 2:  # delete_msg_ids
            _append_ints(&r, w, msg_ids)
        elif f == 3:  # delete_user_ids
            _append_ints(&r, w, user_ids)
        else:
            skip_field(&r, w)
    return _ev.ImDeleteEvent(c.msg_id, c.room_id, c.create_time, raw, msg_ids, user_ids)


ctypedef object (*decoder_t)(bytes)

# Methods with a decoder of their own, as an index into _TABLE.
# The rest of events.EVENT_TYPES get the base fields only.
cdef decoder_t _TABLE[22]
_TABLE[:] = [
    _chat, _gift, _like, _member, _social, _room_user_seq, _control, _emote_chat, _envelope,
    _sub_notify, _question, _battle, _armies, _live_intro, _room_pin, _poll, _goal_update,
    _rank_update, _hourly_rank, _barrage, _caption, _im_delete,
]
cdef dict _CODES = {
    method: code for code, method in enumerate([
        "WebcastChatMessage", "WebcastGiftMessage", "WebcastLikeMessage",
        "WebcastMemberMessage", "WebcastSocialMessage", "WebcastRoomUserSeqMessage",
        "WebcastControlMessage", "WebcastEmoteChatMessage", "WebcastEnvelopeMessage",
        "WebcastSubNotifyMessage", "WebcastQuestionNewMessage", "WebcastLinkMicBattle",
        "WebcastLinkMicArmies", "WebcastLiveIntroMessage", "WebcastRoomPinMessage",
        "WebcastPollMessage", "WebcastGoalUpdateMessage", "WebcastRankUpdateMessage",
        "WebcastHourlyRankRewardMessage", "WebcastBarrageMessage", "WebcastCaptionMessage",
        "WebcastImDeleteMessage",
    ])
}
# RoomPinMessage fields 2-6 (chat, social, gift, member, like) as codes.
cdef int _PINNED[7]
_PINNED[:] = [0, 0, 0, 4, 1, 3, 2]

cdef dict _GENERIC = {m: cls for m, cls in _ev.EVENT_TYPES.items() if m not in _CODES}

SPECIALISED_METHODS = frozenset(_CODES)
"""Methods whose fields the compiled decoder extracts; the others keep base fields only."""


cdef object _decode_message(str method, bytes raw):
    code = _CODES.get(method)
    if code is not None:
        return _TABLE[<int>code](raw)
    cls = _GENERIC.get(method)
    if cls is not None:
        return _generic(raw, cls)
    if not method.startswith("Webcast") and method:
        # Older servers named some methods without the prefix ("RoomMessage", "LinkMicMethod").
        return _decode_message("Webcast" + method, raw) if (
            "Webcast" + method) in _CODES or ("Webcast" + method) in _GENERIC else _unknown(method, raw)
    return _unknown(method, raw)


cdef object _unknown(str method, bytes raw):
    """Base fields when the payload has them; an unknown schema may not, so never fail."""
    cdef Reader r = _reader(raw)
    cdef Common c
    cdef uint32_t f
    cdef int w
    _common_init(&c)
    try:
        if next_field(&r, &f, &w) and f == 1 and w == WT_LEN:
            r.pos = 0
            next_field(&r, &f, &w)
            _common(&r, w, &c)
    except DecodeError:
        _common_init(&c)
    return UnknownEvent(c.msg_id, c.room_id, c.create_time, raw, method)


def decode_message(str method not None, bytes payload not None):
    """Decode one message payload (``BaseProtoMessage.payload``) of the given method.

    Raises:
        DecodeError: the payload is malformed.
        TypeError: ``method`` is not a str or ``payload`` not bytes (None neither).
    """
    try:
        return _decode_message(method, payload)
    except DecodeError as exc:
        raise DecodeError(exc.reason, exc.offset, method) from None


# ---------------------------------------------------------------------------
# Batches and frames


cdef object _batch(Reader* r, uint64_t log_id, int64_t seq_id, str payload_type):
    """ProtoMessageFetchResult: the messages and the batch header."""
    cdef Reader s, t, m
    cdef uint32_t f, f2
    cdef int w, w2
    cdef str cursor = EMPTY, internal_ext = EMPTY, push_server = EMPTY, key, value
    cdef int64_t fetch_interval = 0, now = 0, heartbeat = 0, wrapper_id
    cdef bint need_ack = False, is_first = False, history
    cdef dict route_params = {}
    cdef list events = []
    cdef str method
    cdef bytes raw
    cdef object event
    while next_field(r, &f, &w):
        if f == 1:  # messages: BaseProtoMessage {method 1, payload 2, msg_id 3}
            enter(r, w, &s)
            method = EMPTY
            raw = b""
            wrapper_id = 0
            history = False
            while next_field(&s, &f2, &w2):
                if f2 == 1:
                    method = read_str(&s, w2)
                elif f2 == 2:
                    enter(&s, w2, &m)
                    raw = _slice(&m)
                elif f2 == 3:
                    wrapper_id = read_int(&s, w2)
                elif f2 == 6:  # is_history: backlog re-sent (e.g. recent chat on join)
                    history = read_int(&s, w2) != 0
                else:
                    skip_field(&s, w2)
            try:
                event = _decode_message(method, raw)
            except DecodeError as exc:
                # One bad message costs that message only, and is reported in its place.
                event = DecodeErrorEvent(wrapper_id, 0, 0, raw, method, exc.reason, exc.offset)
            if event.msg_id == 0 and wrapper_id != 0:
                event = _with_msg_id(event, wrapper_id)
            if history:  # rare: set on the new event, which nothing else holds yet
                PyObject_GenericSetAttr(event, IS_HISTORY, True)
            events.append(event)
        elif f == 2:
            cursor = read_opaque(r, w)
        elif f == 3:
            fetch_interval = read_int(r, w)
        elif f == 4:
            now = read_int(r, w)
        elif f == 5:
            internal_ext = read_opaque(r, w)
        elif f == 7:  # route_params: map<string, string>
            enter(r, w, &s)
            key = value = EMPTY
            while next_field(&s, &f2, &w2):
                if f2 == 1:
                    key = read_str(&s, w2)
                elif f2 == 2:
                    value = read_str(&s, w2)
                else:
                    skip_field(&s, w2)
            route_params[key] = value
        elif f == 8:
            heartbeat = read_int(r, w)
        elif f == 9:
            need_ack = read_int(r, w) != 0
        elif f == 10:
            push_server = read_str(r, w)
        elif f == 11:
            is_first = read_int(r, w) != 0
        else:
            skip_field(r, w)
    return _Batch(log_id, seq_id, payload_type, need_ack, internal_ext, cursor, is_first,
                  route_params, push_server, fetch_interval, now, heartbeat, events)


cdef object _with_msg_id(object event, int64_t msg_id):
    import msgspec.structs
    return msgspec.structs.replace(event, msg_id=msg_id)


cdef inline bytes _inflate(bytes payload, Py_ssize_t limit):
    return inflate_gzip(payload, limit)  # libdeflate, or zlib (fastlive._inflate)


cdef bint _is_gzip(bytes payload):
    return PyBytes_GET_SIZE(payload) >= 3 and memcmp(PyBytes_AS_STRING(payload), b"\x1f\x8b\x08", 3) == 0


def decode(bytes data not None, *, Py_ssize_t max_inflated_size=DEFAULT_MAX_INFLATED_SIZE):
    """Decode one websocket binary message (a ``WebcastPushFrame``) into a ``Batch``.

    ``events`` is empty unless ``payload_type`` is ``"msg"``, or ``"im_enter_room_resp"``
    with a payload: the join's answer carries a batch too (room message, intro, welcome).
    A gzip payload
    (header ``compress_type: gzip`` or the gzip magic) is inflated, up to
    ``max_inflated_size`` bytes.

    Raises:
        DecodeError: the frame, its gzip payload or its batch is malformed; the
            offset is into the frame, or into the inflated batch for batch errors.
            A malformed *message* does not raise: it becomes a ``DecodeErrorEvent``.
    """
    cdef Reader r = _reader(data)
    cdef Reader s, h
    cdef uint32_t f, f2
    cdef int w, w2
    cdef uint64_t log_id = 0
    cdef int64_t seq_id = 0
    cdef str payload_type = EMPTY, key, value
    cdef bytes payload = b""
    cdef bint gzip_header = False
    while next_field(&r, &f, &w):
        if f == 1:  # seq_id
            seq_id = read_int(&r, w)
        elif f == 2:  # log_id: echoed back in acks, kept unsigned
            if w != WT_VARINT:
                _fail(f"wrong wire type {w} for a varint field", r.pos)
            read_varint(&r, &log_id)
        elif f == 5:  # headers: PushHeader {key 1, value 2}
            enter(&r, w, &s)
            key = value = EMPTY
            while next_field(&s, &f2, &w2):
                if f2 == 1:
                    key = read_str(&s, w2)
                elif f2 == 2:
                    value = read_str(&s, w2)
                else:
                    skip_field(&s, w2)
            if key == "compress_type" and value == "gzip":
                gzip_header = True
        elif f == 7:  # payload_type
            payload_type = read_str(&r, w)
        elif f == 8:  # payload
            enter(&r, w, &s)
            payload = _slice(&s)
        else:  # service, method, payload_encoding
            skip_field(&r, w)
    if payload_type != "msg" and (payload_type != "im_enter_room_resp"
                                  or PyBytes_GET_SIZE(payload) == 0):
        return _Batch(log_id, seq_id, payload_type, False, EMPTY, EMPTY, False, {}, EMPTY,
                      0, 0, 0, [])
    if gzip_header or _is_gzip(payload):
        payload = _inflate(payload, max_inflated_size)
    r = _reader(payload)
    return _batch(&r, log_id, seq_id, payload_type)


def decode_fetch_result(bytes data not None, *,
                        Py_ssize_t max_inflated_size=DEFAULT_MAX_INFLATED_SIZE):
    """Decode a bare ``ProtoMessageFetchResult`` (the sign server's initial batch).

    Raises:
        DecodeError: the body is malformed.
    """
    if _is_gzip(data):
        data = _inflate(data, max_inflated_size)
    cdef Reader r = _reader(data)
    return _batch(&r, 0, 0, "msg")


# ---------------------------------------------------------------------------
# Client frames


cdef inline void _put_varint(bytearray out, uint64_t v):
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


cdef inline void _put_uint(bytearray out, int field, uint64_t v):
    if v:
        _put_varint(out, (<uint64_t>field << 3) | WT_VARINT)
        _put_varint(out, v)


cdef inline void _put_bytes(bytearray out, int field, bytes v):
    if v:
        _put_varint(out, (<uint64_t>field << 3) | WT_LEN)
        _put_varint(out, PyBytes_GET_SIZE(v))
        out += v


cdef uint64_t _u64(object value) except? 0:
    """A Python int as the uint64 a varint carries (negative int64 in two's complement)."""
    if value < -(1 << 63) or value >= (1 << 64):
        raise ValueError(f"{value} does not fit in 64 bits")
    return <uint64_t>(value & 0xFFFFFFFFFFFFFFFF)


cdef bytes _frame(uint64_t log_id, bytes payload_type, bytes payload):
    cdef bytearray out = bytearray()
    _put_uint(out, 2, log_id)  # log_id
    _put_bytes(out, 6, b"pb")  # payload_encoding
    _put_bytes(out, 7, payload_type)
    _put_bytes(out, 8, payload)
    return bytes(out)


def build_heartbeat(room_id: int, seq: int = 1) -> bytes:
    """An ``hb`` frame carrying ``HeartBeatMessage{room_id, send_packet_seq_id=seq}``."""
    cdef bytearray body = bytearray()
    _put_uint(body, 1, _u64(room_id))
    _put_uint(body, 2, _u64(seq))
    return _frame(0, b"hb", bytes(body))


def build_enter_room(room_id: int, *, enter_unique_id: int = 0, cursor: str = "",
                     live_id: int = 12, identity: str = "audience",
                     filter_welcome_msg: str = "0", room_tag: str = "",
                     live_region: str = "", account_type: int = 0) -> bytes:
    """An ``im_enter_room`` frame (``WebcastImEnterRoomMessage``), the room join."""
    cdef bytearray body = bytearray()
    _put_uint(body, 1, _u64(room_id))
    _put_bytes(body, 2, room_tag.encode())
    _put_bytes(body, 3, live_region.encode())
    _put_uint(body, 4, _u64(live_id))
    _put_bytes(body, 5, identity.encode())
    _put_bytes(body, 6, cursor.encode())
    _put_uint(body, 7, _u64(account_type))
    _put_uint(body, 8, _u64(enter_unique_id))
    _put_bytes(body, 9, filter_welcome_msg.encode())
    return _frame(0, b"im_enter_room", bytes(body))


def build_ack(log_id: int, internal_ext) -> bytes:
    """An ``ack`` frame: the received frame's ``log_id`` and the batch's ``internal_ext``.

    ``internal_ext`` as ``Batch`` holds it: the original bytes come back even when
    they were not UTF-8 (the direct connection's may not be).
    """
    if isinstance(internal_ext, str):
        internal_ext = internal_ext.encode("utf-8", "surrogateescape")
    return _frame(_u64(log_id), b"ack", bytes(internal_ext))
