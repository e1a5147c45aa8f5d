"""The event model: one msgspec Struct per kind of TikTok LIVE event.

Class and attribute names follow TikTokLive (Python), so that handlers written
for it read the same values here: ``CommentEvent.comment``, ``.user.nickname``,
``GiftEvent.gift.diamond_count``, ``LikeEvent.total`` and so on.

The compiled decoder (``fastlive._decode``) builds these positionally, so the
order of fields is part of its contract: base fields first, then each class's
own, in the order written here; ``is_history`` is keyword-only, after them all.
Every event keeps its message payload in ``raw``; ``event.proto()`` decodes all
of it through the protobuf runtime.

Every other field of the message is an attribute too, named as in the schema
(TikTokLive's names): ``RoomEvent.content``, ``event.user.follow_info``,
``event.gift.image.url_list``.  The decoder does not extract those: the first
one read parses the payload (or the part's slice of it) once, and each value
read is kept on the instance.  Absent sub-messages read as None, repeated fields
as lists, maps as dicts, other sub-messages as ``ProtoView``s (``User`` and
``Gift`` as fastlive's own Structs).

Derived events subclass the event they come from (``FollowEvent`` is a
``SocialEvent``, ``LiveEndEvent`` a ``ControlEvent``), so a handler registered
for the base class sees them too.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

from fastlive.exceptions import DecodeError
from fastlive.proto.fields import FIELDS as _FIELDS

if TYPE_CHECKING:
    from google.protobuf.message import Message

__all__ = [
    "EVENT_TYPES",
    "AccessControlEvent",
    "AccessRecallEvent",
    "ArmyUser",
    "BarrageEvent",
    "BaseEvent",
    "BattleAnchor",
    "BattleArmy",
    "BattleResult",
    "BoostCardEvent",
    "BottomEvent",
    "CapsuleEvent",
    "Caption",
    "CaptionEvent",
    "ClientEvent",
    # events, one per method
    "CommentEvent",
    "ConnectEvent",
    "Contributor",
    "ControlEvent",
    "DecodeErrorEvent",
    "DisconnectEvent",
    "Emote",
    "EmoteChatEvent",
    "Envelope",
    "EnvelopeEvent",
    "ErrorEvent",
    "FollowEvent",
    "GameRankNotifyEvent",
    "Gift",
    "GiftBroadcastEvent",
    "GiftDynamicRestrictionEvent",
    "GiftEvent",
    "GiftPanelUpdateEvent",
    "GiftPromptEvent",
    "GiftStreakEvent",
    "Goal",
    "GoalUpdateEvent",
    "GuideEvent",
    "HourlyRankRewardEvent",
    "ImDeleteEvent",
    "InRoomBannerEvent",
    "JoinEvent",
    "LikeEvent",
    "LinkEvent",
    "LinkLayerEvent",
    "LinkMicArmiesEvent",
    "LinkMicBattleEvent",
    "LinkMicBattleItemCardEvent",
    "LinkMicBattlePunishFinishEvent",
    "LinkMicFanTicketMethodEvent",
    "LinkMicLayoutStateEvent",
    "LinkMicMethodEvent",
    "LinkStateEvent",
    "LinkmicBattleTaskEvent",
    "LiveEndEvent",
    "LiveGameIntroEvent",
    "LiveIntroEvent",
    "LivePauseEvent",
    "LiveUnpauseEvent",
    "MarqueeAnnouncementEvent",
    "MessageDetectEvent",
    "NoticeEvent",
    "OecLiveShoppingEvent",
    "PartnershipDropsUpdateEvent",
    "PartnershipGameOfflineEvent",
    "PartnershipPunishEvent",
    "PerceptionEvent",
    "PollEvent",
    "PollOption",
    "Question",
    "QuestionNewEvent",
    "RankTextEvent",
    "RankUpdate",
    "RankUpdateEvent",
    "ReconnectEvent",
    "RoomEvent",
    "RoomNotifyEvent",
    "RoomPinEvent",
    "RoomUserSeqEvent",
    "RoomVerifyEvent",
    "ShareEvent",
    "SocialEvent",
    "SpeakerEvent",
    "SubGoal",
    "SubNotifyEvent",
    "SubPinEventEvent",
    "SuperFanBoxEvent",
    "SuperFanEvent",
    "SuperFanJoinEvent",
    "SystemEvent",
    "ToastEvent",
    "UnauthorizedMemberEvent",
    "UnknownEvent",
    "User",
    "UserIdentity",
    "ViewerPicksUpdateEvent",
    "event_type",
]


# ---------------------------------------------------------------------------
# Lazy fields: what the decoder does not extract, read from the payload on demand

_ALIASES: dict[str, dict[str, str]] = {
    "BattleTaskStart": {"config": "battle_bonus_config"},
}
"""TikTokLive's (TikTokLiveProto 0.2.2) names for fields the 0.3.0 schema renamed, by message."""

_KIND_SCALAR, _KIND_LIST, _KIND_MESSAGE, _KIND_MESSAGES, _KIND_MAP, _KIND_MESSAGE_MAP = range(6)
_KINDS: dict[tuple[str, str], int] = {}
_STRUCTS: dict[str, Any] = {}
"""Message type name to the function that makes fastlive's Struct of it (``User``, ``Gift``)."""


def _pb() -> Any:
    """The generated protobuf module, imported on first use."""
    from fastlive import proto

    proto._load()
    return proto.webcast_pb2


def _kind(message: Message, name: str) -> int:
    """How a field's protobuf value becomes TikTokLive's: scalar, list, message, map..."""
    key = (message.DESCRIPTOR.full_name, name)
    kind = _KINDS.get(key)
    if kind is None:
        field = message.DESCRIPTOR.fields_by_name[name]
        sub = field.message_type
        if sub is None:
            kind = _KIND_LIST if field.is_repeated else _KIND_SCALAR
        elif sub.GetOptions().map_entry:
            value = sub.fields_by_name["value"].message_type
            kind = _KIND_MAP if value is None else _KIND_MESSAGE_MAP
        else:
            kind = _KIND_MESSAGES if field.is_repeated else _KIND_MESSAGE
        _KINDS[key] = kind
    return kind


def _wrap(message: Message) -> Any:
    """A sub-message as fastlive's Struct for its type (``User``...) or a ``ProtoView``."""
    make = _STRUCTS.get(message.DESCRIPTOR.name)
    return ProtoView(message) if make is None else make(message)


def _value(message: Message, name: str) -> Any:
    """Field ``name`` of ``message`` with TikTokLive's conventions (None for an absent message)."""
    kind = _kind(message, name)
    value = getattr(message, name)
    if kind == _KIND_SCALAR:
        return value
    if kind == _KIND_LIST:
        return list(value)
    if kind == _KIND_MESSAGE:
        return _wrap(value) if message.HasField(name) else None
    if kind == _KIND_MESSAGES:
        return [_wrap(item) for item in value]
    if kind == _KIND_MAP:
        return dict(value)
    return {key: _wrap(item) for key, item in value.items()}


def _field_name(type_name: str, name: str) -> str | None:
    """The schema's name for attribute ``name`` of a message type (aliases too), None if none."""
    real = _ALIASES.get(type_name, {}).get(name, name)
    return real if real in _FIELDS.get(type_name, "").split() else None


def _parse(cls: type[Message], data: bytes, what: str) -> Message:
    from fastlive.proto import _PARSE_ERRORS

    try:
        return cls.FromString(data)
    except _PARSE_ERRORS as exc:  # the runtime's DecodeError, or what the pure-Python one leaks
        raise DecodeError(f"{what} does not parse ({type(exc).__name__}: {exc})", 0) from None


def _message(obj: Any) -> Message:
    """The protobuf message behind an event or a part, parsed once and kept in its ``__dict__``."""
    cache = obj.__dict__
    message = cache.get("_pb")
    if message is None:
        message = obj._parse_proto()
        cache["_pb"] = message
    return message


class _Lazy:
    """A field the decoder does not extract: read on first access, then kept on the instance."""

    __slots__ = ("field", "name")

    def __init__(self, name: str, field: str) -> None:
        self.name = name
        self.field = field

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        if obj is None:
            return self
        message = _message(obj)
        if self.field not in message.DESCRIPTOR.fields_by_name:  # a part of another type
            raise AttributeError(f"{message.DESCRIPTOR.name} has no field {self.name!r}")
        value = _value(message, self.field)
        obj.__dict__[self.name] = value
        return value


def _define_lazy(cls: type, *type_names: str) -> None:
    """Give ``cls`` a lazy attribute for each field of these message types it does not have."""
    for type_name in type_names:
        fields = {name: name for name in _FIELDS[type_name].split()}
        fields.update(_ALIASES.get(type_name, {}))
        for name, field in fields.items():
            if not hasattr(cls, name):
                setattr(cls, name, _Lazy(name, field))


class ProtoView:
    """A protobuf sub-message read as TikTokLive reads it; each field converted once, on access."""

    __slots__ = ("__dict__", "_message")

    def __init__(self, message: Message) -> None:
        self._message = message

    def __getattr__(self, name: str) -> Any:
        message = self._message
        field = _field_name(message.DESCRIPTOR.name, name) if name[:1] != "_" else None
        if field is None:
            raise AttributeError(f"{message.DESCRIPTOR.name} has no field {name!r}")
        value = _value(message, field)
        self.__dict__[name] = value
        return value

    def __dir__(self) -> list[str]:
        return [*_FIELDS.get(self._message.DESCRIPTOR.name, "").split(), "proto"]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ProtoView):
            return self._message == other._message
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ProtoView({self._message.DESCRIPTOR.name})"

    def proto(self) -> Message:
        """The protobuf message itself."""
        return self._message


class _Part(msgspec.Struct, frozen=True, dict=True):
    """A part of an event; the schema's other fields read lazily from the part's bytes."""

    _proto_type: ClassVar[str] = ""
    """The message type a part comes from when the decoder does not say (``_src.type``)."""

    def _parse_proto(self) -> Message:
        src = self.__dict__.get("_src")
        if src is None:  # made in Python, not by the decoder: the schema's defaults
            return getattr(_pb(), self._proto_type)()
        return _parse(getattr(_pb(), src.type), src.payload(), src.type)


# ---------------------------------------------------------------------------
# Parts of events


class User(_Part, frozen=True, dict=True):
    """A TikTok user as messages carry it (``webcast.model.base.user.User``)."""

    _proto_type: ClassVar[str] = "User"

    id: int = 0
    """Numeric user id (64-bit: keep it an int, never a float)."""
    unique_id: str = ""
    """The @handle without the @ (field ``display_id``)."""
    nickname: str = ""
    sec_uid: str = ""
    avatar_url: str = ""
    """First URL of ``avatar_thumb``."""
    verified: bool = False
    following_count: int = 0
    follower_count: int = 0
    follow_status: int = 0
    """0 none, 1 follows the host, 2 mutual (TikTokLive's ``is_friend``)."""
    gifter_level: int = 0
    """``pay_grade.level``."""
    fan_club_name: str = ""
    fan_level: int = 0

    @property
    def is_friend(self) -> bool:
        return self.follow_status >= 2

    @property
    def is_following(self) -> bool:
        return self.follow_status >= 1


class UserIdentity(_Part, frozen=True, dict=True):
    """How the sender relates to the host (chat, gift and emote messages)."""

    _proto_type: ClassVar[str] = "UserIdentity"

    is_gift_giver_of_anchor: bool = False
    is_subscriber_of_anchor: bool = False
    is_mutual_following_with_anchor: bool = False
    is_follower_of_anchor: bool = False
    is_moderator_of_anchor: bool = False
    is_anchor: bool = False


class Gift(_Part, frozen=True, dict=True):
    """The gift a ``GiftEvent`` carries (``GiftStruct``)."""

    _proto_type: ClassVar[str] = "Gift"

    id: int = 0
    name: str = ""
    diamond_count: int = 0
    type: int = 0
    """1 means streakable (combo) gift."""
    combo: bool = False
    image_url: str = ""
    describe: str = ""

    @property
    def streakable(self) -> bool:
        return self.type == 1


class Emote(_Part, frozen=True, dict=True):
    _proto_type: ClassVar[str] = "EmoteWithIndex"
    emote_id: str = ""
    image_url: str = ""
    index: int = -1
    """Insertion position in a comment, or -1 for a sticker-only emote chat."""


class Contributor(_Part, frozen=True, dict=True):
    """One entry of a viewer ranking."""

    _proto_type: ClassVar[str] = "Contributor"

    user: User | None = None
    score: int = 0
    rank: int = 0


class Envelope(_Part, frozen=True, dict=True):
    """A treasure chest (``MessageRedEnvelopInfo``)."""

    _proto_type: ClassVar[str] = "MessageRedEnvelopInfo"

    envelope_id: str = ""
    business_type: int = 0
    send_user_name: str = ""
    send_user_id: str = ""
    diamond_count: int = 0
    people_count: int = 0
    unpack_at: int = 0


class Question(_Part, frozen=True, dict=True):
    _proto_type: ClassVar[str] = "Question"
    question_id: int = 0
    content: str = ""
    user: User | None = None
    create_time: int = 0


class BattleResult(_Part, frozen=True, dict=True):
    _proto_type: ClassVar[str] = "BattleResult"
    user_id: int = 0
    result: int = 0
    """0 win, 1 lose, 2 draw."""
    score: int = 0


class BattleAnchor(_Part, frozen=True, dict=True):
    _proto_type: ClassVar[str] = "BattleBaseUserInfo"
    user_id: int = 0
    nickname: str = ""
    unique_id: str = ""
    room_id: int = 0


class ArmyUser(_Part, frozen=True, dict=True):
    _proto_type: ClassVar[str] = "BattleUserArmy"
    user_id: int = 0
    nickname: str = ""
    score: int = 0


class BattleArmy(_Part, frozen=True, dict=True):
    """One host's side in a battle: its score and its top supporters."""

    _proto_type: ClassVar[str] = "BattleUserArmies"

    anchor_id: int = 0
    host_score: int = 0
    users: list[ArmyUser] = []


class RankUpdate(_Part, frozen=True, dict=True):
    _proto_type: ClassVar[str] = "RankUpdate"
    rank_type: int = 0
    own_rank: int = 0
    current_score: int = 0
    countdown: int = 0


class PollOption(_Part, frozen=True, dict=True):
    _proto_type: ClassVar[str] = "PollOptionInfo"
    option_idx: int = 0
    display_content: str = ""
    votes: int = 0


class SubGoal(_Part, frozen=True, dict=True):
    _proto_type: ClassVar[str] = "LiveStreamSubGoal"
    id: int = 0
    type: int = 0
    progress: int = 0
    target: int = 0
    gift_name: str = ""
    gift_diamond_count: int = 0


class Goal(_Part, frozen=True, dict=True):
    _proto_type: ClassVar[str] = "LiveStreamGoal"
    id: int = 0
    description: str = ""
    status: int = 0
    sub_goals: list[SubGoal] = []


class Caption(_Part, frozen=True, dict=True):
    _proto_type: ClassVar[str] = "CaptionContent"
    lang: str = ""
    content: str = ""


# ---------------------------------------------------------------------------
# The base event


class _Flags(msgspec.Struct, frozen=True, dict=True, kw_only=True):
    """Keyword-only fields: after every class's own in the positional order, so adding one
    changes no positional call."""

    is_history: bool = False
    """The server re-sent this message as backlog (``BaseProtoMessage.is_history``), e.g. the
    recent chat replayed on join; False outside a batch (``decode_message``)."""


class BaseEvent(_Flags, frozen=True, dict=True):
    """What every event decoded from a message carries.

    ``raw`` is the message payload as received; ``proto()`` decodes all of it.
    """

    msg_id: int = 0
    room_id: int = 0
    create_time: int = 0
    """Server time of the message, in milliseconds since the epoch."""
    raw: bytes = b""

    method: ClassVar[str] = ""
    """The webcast method name this event comes from."""

    def proto(self) -> Message:
        """Decode the whole payload with the protobuf runtime (all fields, slow path).

        Raises:
            DecodeError: the payload does not parse, or the method has no schema.
        """
        from fastlive.proto import parse

        return parse(self.method, self.raw)

    def _parse_proto(self) -> Message:
        return self.proto()

    @classmethod
    def get_type(cls) -> str:
        """The class name (TikTokLive's ``Event.get_type()``)."""
        return cls.__name__

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in self.__struct_fields__ if name != "raw"
        )
        return f"{type(self).__name__}({fields})"

    def to_dict(self) -> dict[str, Any]:
        """The event as plain data (without ``raw``), with its ``type`` name first."""
        data = msgspec.to_builtins(self)
        del data["raw"]
        return {"type": type(self).__name__, "method": self.method, **data}


# ---------------------------------------------------------------------------
# Events the decoder extracts field by field


class CommentEvent(BaseEvent, frozen=True, dict=True):
    """A chat comment (``WebcastChatMessage``)."""

    method: ClassVar[str] = "WebcastChatMessage"
    user: User | None = None
    content: str = ""
    content_language: str = ""
    user_identity: UserIdentity | None = None
    emotes: list[Emote] = []

    @property
    def comment(self) -> str:
        """TikTokLive's name for ``content``."""
        return self.content


class GiftEvent(BaseEvent, frozen=True, dict=True):
    """A gift; streakable gifts repeat while the streak runs (see ``streaking``)."""

    method: ClassVar[str] = "WebcastGiftMessage"
    user: User | None = None
    to_user: User | None = None
    gift_id: int = 0
    gift: Gift | None = None
    repeat_count: int = 0
    repeat_end: int = 0
    combo_count: int = 0
    group_id: int = 0
    group_count: int = 0
    send_type: int = 0
    fan_ticket_count: int = 0
    user_identity: UserIdentity | None = None

    @property
    def streaking(self) -> bool:
        """True while a streakable gift's streak goes on: wait for the final message."""
        return self.gift is not None and self.gift.type == 1 and not self.repeat_end

    @property
    def diamond_value(self) -> int | None:
        """Diamonds of the whole streak on its final message, None while streaking."""
        if self.streaking or self.gift is None:
            return None
        return self.gift.diamond_count * max(self.repeat_count, 1)

    @property
    def value(self) -> float | None:
        """USD estimate (TikTokLive's figure: 0.005 per diamond), None while streaking."""
        diamonds = self.diamond_value
        return None if diamonds is None else diamonds * 0.005


class LikeEvent(BaseEvent, frozen=True, dict=True):
    """Likes from one viewer; ``total`` is the room's running like count."""

    method: ClassVar[str] = "WebcastLikeMessage"
    user: User | None = None
    count: int = 0
    total: int = 0


class JoinEvent(BaseEvent, frozen=True, dict=True):
    """A member message: a viewer joined (``action`` 1) or another member action."""

    method: ClassVar[str] = "WebcastMemberMessage"
    user: User | None = None
    member_count: int = 0
    action: int = 0
    enter_type: int = 0


class SocialEvent(BaseEvent, frozen=True, dict=True):
    """A social message that is neither a follow nor a share."""

    method: ClassVar[str] = "WebcastSocialMessage"
    user: User | None = None
    display_key: str = ""
    """``common.display_text.key``: decides follow vs share."""
    action: int = 0
    share_type: int = 0
    share_target: str = ""
    follow_count: int = 0
    share_count: int = 0


class FollowEvent(SocialEvent, frozen=True, dict=True):
    """A viewer followed the host."""


_SHARE_VIEWERS = re.compile(r"pm_mt_guidance_viewer_([0-9]+)_share")


class ShareEvent(SocialEvent, frozen=True, dict=True):
    """A viewer shared the stream."""

    @property
    def users_joined(self) -> int | None:
        """How many viewers the share brought in, when TikTok says."""
        match = _SHARE_VIEWERS.search(self.display_key)
        return int(match.group(1)) if match else None


class RoomUserSeqEvent(BaseEvent, frozen=True, dict=True):
    """Viewer count: ``total`` now watching, ``total_user`` seen in all."""

    method: ClassVar[str] = "WebcastRoomUserSeqMessage"
    total: int = 0
    total_user: int = 0
    popularity: int = 0
    anonymous: int = 0
    ranks: list[Contributor] = []

    @property
    def m_total(self) -> int:
        """TikTokLive 5.x name of ``total``."""
        return self.total


class ControlEvent(BaseEvent, frozen=True, dict=True):
    """A control message: 1 paused, 2 unpaused, 3 ended, 4 ended by the platform."""

    method: ClassVar[str] = "WebcastControlMessage"
    action: int = 0
    tips: str = ""


class LivePauseEvent(ControlEvent, frozen=True, dict=True):
    """The host paused the stream."""


class LiveUnpauseEvent(ControlEvent, frozen=True, dict=True):
    """The host resumed the stream."""


class LiveEndEvent(ControlEvent, frozen=True, dict=True):
    """The stream ended (by the host, or suspended by TikTok)."""


class EmoteChatEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastEmoteChatMessage"
    user: User | None = None
    emotes: list[Emote] = []
    user_identity: UserIdentity | None = None


class EnvelopeEvent(BaseEvent, frozen=True, dict=True):
    """A treasure chest appeared (``display`` 1) or went away."""

    method: ClassVar[str] = "WebcastEnvelopeMessage"
    envelope: Envelope | None = None
    display: int = 0


class SuperFanBoxEvent(EnvelopeEvent, frozen=True, dict=True):
    """A super-fan box (envelope business type 19)."""


class SubNotifyEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastSubNotifyMessage"
    user: User | None = None
    sub_month: int = 0
    subscribe_type: int = 0
    old_subscribe_status: int = 0
    subscribing_status: int = 0


class QuestionNewEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastQuestionNewMessage"
    question: Question | None = None


class LinkMicBattleEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLinkMicBattle"
    battle_id: int = 0
    action: int = 0
    status: int = 0
    """``battle_settings.status``: 1 started, 2 finished."""
    start_time_ms: int = 0
    duration: int = 0
    results: list[BattleResult] = []
    anchors: list[BattleAnchor] = []


class LinkMicArmiesEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLinkMicArmies"
    battle_id: int = 0
    armies: list[BattleArmy] = []
    from_user_id: int = 0
    gift_id: int = 0
    gift_count: int = 0
    repeat_count: int = 0
    total_diamond_count: int = 0
    trigger_reason: int = 0
    battle_status: int = 0


class LiveIntroEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLiveIntroMessage"
    id: int = 0
    content: str = ""
    user: User | None = None
    intro_mode: int = 0
    content_language: str = ""


class RoomPinEvent(BaseEvent, frozen=True, dict=True):
    """A message pinned (``action`` 1) or unpinned (2); ``pinned`` is that message."""

    method: ClassVar[str] = "WebcastRoomPinMessage"
    action: int = 0
    pin_time: int = 0
    pinned_method: str = ""
    pinned: BaseEvent | None = None
    operator: User | None = None
    pin_msg_id: int = 0


class PollEvent(BaseEvent, frozen=True, dict=True):
    """A poll started, got votes or ended (``phase``)."""

    method: ClassVar[str] = "WebcastPollMessage"
    poll_id: int = 0
    message_type: int = 0
    poll_kind: int = 0
    phase: str = ""
    """"start", "update" or "end", from which content the message carries."""
    title: str = ""
    options: list[PollOption] = []
    operator: User | None = None


class GoalUpdateEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastGoalUpdateMessage"
    goal: Goal | None = None
    contributor_id: int = 0
    contributor_unique_id: str = ""
    contribute_count: int = 0
    contribute_score: int = 0


class RankUpdateEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastRankUpdateMessage"
    updates: list[RankUpdate] = []
    group_type: int = 0


class HourlyRankRewardEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastHourlyRankRewardMessage"
    winner_ids: list[int] = []


class BarrageEvent(BaseEvent, frozen=True, dict=True):
    """A banner across the chat (level-ups, super fans...)."""

    method: ClassVar[str] = "WebcastBarrageMessage"
    msg_type: int = 0
    content_key: str = ""
    """``content.key`` or, when empty, ``common_barrage_content.key``."""
    user: User | None = None


class SuperFanEvent(BarrageEvent, frozen=True, dict=True):
    """A viewer became a super fan."""


class SuperFanJoinEvent(BarrageEvent, frozen=True, dict=True):
    """A super fan joined the room."""


class CaptionEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastCaptionMessage"
    timestamp_ms: int = 0
    duration_ms: int = 0
    content: list[Caption] = []
    sentence_id: int = 0
    sequence_id: int = 0
    definite: bool = False


class ImDeleteEvent(BaseEvent, frozen=True, dict=True):
    """Moderation: messages or users whose messages to remove from view."""

    method: ClassVar[str] = "WebcastImDeleteMessage"
    delete_msg_ids: list[int] = []
    delete_user_ids: list[int] = []


class InRoomBannerEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastInRoomBannerMessage"


# ---------------------------------------------------------------------------
# Events kept as payloads: base fields eagerly, the rest through ``proto()``


class LinkEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLinkMessage"


class RoomEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastRoomMessage"


class SystemEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastSystemMessage"


class RankTextEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastRankTextMessage"


class AccessControlEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastAccessControlMessage"


class AccessRecallEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastAccessRecallMessage"


class BoostCardEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastBoostCardMessage"


class BottomEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastBottomMessage"


class CapsuleEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastCapsuleMessage"


class GameRankNotifyEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastGameRankNotifyMessage"


class GiftBroadcastEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastGiftBroadcastMessage"


class GiftDynamicRestrictionEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastGiftDynamicRestrictionMessage"


class GiftPanelUpdateEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastGiftPanelUpdateMessage"


class GiftPromptEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastGiftPromptMessage"


class GuideEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastGuideMessage"


class LinkLayerEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLinkLayerMessage"


class LinkMicBattleItemCardEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLinkMicBattleItemCard"


class LinkMicBattlePunishFinishEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLinkMicBattlePunishFinish"


class LinkMicFanTicketMethodEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLinkMicFanTicketMethod"


class LinkMicLayoutStateEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLinkMicLayoutStateMessage"


class LinkMicMethodEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLinkMicMethod"


class LinkStateEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLinkStateMessage"


class LinkmicBattleTaskEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLinkmicBattleTaskMessage"


class LiveGameIntroEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastLiveGameIntroMessage"


class MarqueeAnnouncementEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastMarqueeAnnouncementMessage"


class MessageDetectEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastMsgDetectMessage"


class NoticeEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastNoticeMessage"


class OecLiveShoppingEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastOecLiveShoppingMessage"


class PartnershipDropsUpdateEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastPartnershipDropsUpdateMessage"


class PartnershipGameOfflineEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastPartnershipGameOfflineMessage"


class PartnershipPunishEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastPartnershipPunishMessage"


class PerceptionEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastPerceptionMessage"


class RoomNotifyEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastRoomNotifyMessage"


class RoomVerifyEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastRoomVerifyMessage"


class SpeakerEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastSpeakerMessage"


class SubPinEventEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastSubPinEventMessage"


class ToastEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastToastMessage"


class UnauthorizedMemberEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastUnauthorizedMemberMessage"


class ViewerPicksUpdateEvent(BaseEvent, frozen=True, dict=True):
    method: ClassVar[str] = "WebcastViewerPicksUpdateMessage"


# ---------------------------------------------------------------------------
# Not from a known method


class UnknownEvent(BaseEvent, frozen=True, dict=True):
    """A message whose method fastlive has no event for; never an error."""

    method: str = ""  # type: ignore[misc]  # an instance field here


class DecodeErrorEvent(BaseEvent, frozen=True, dict=True):
    """One message of a batch that did not decode; the rest of the batch did.

    ``reason`` and ``offset`` (into ``raw``) say what was wrong.
    """

    method: str = ""  # type: ignore[misc]
    reason: str = ""
    offset: int = 0


# ---------------------------------------------------------------------------
# Events of the connection itself, made by the client, not decoded


class ClientEvent(msgspec.Struct, frozen=True):
    """Base of the events the client emits about its own connection."""

    @classmethod
    def get_type(cls) -> str:
        """The class name (TikTokLive's ``Event.get_type()``)."""
        return cls.__name__

    def to_dict(self) -> dict[str, Any]:
        return {"type": type(self).__name__, **msgspec.to_builtins(self, str_keys=True)}


class ConnectEvent(ClientEvent, frozen=True):
    """The websocket to a room is open and joined (once per client run)."""

    unique_id: str = ""
    room_id: int = 0


class DisconnectEvent(ClientEvent, frozen=True):
    """The connection ended for good (stream end, disconnect(), or retries spent)."""

    code: int | None = None
    reason: str = ""


class ReconnectEvent(ClientEvent, frozen=True):
    """The socket dropped; the client reconnects after ``delay`` seconds."""

    attempt: int = 0
    delay: float = 0.0
    reason: str = ""


class ErrorEvent(ClientEvent, frozen=True):
    """A handler raised, or a frame failed to decode; the connection goes on."""

    error: str = ""
    """``repr`` of the exception."""
    source: str = ""
    """Where it happened: ``"handler"``, ``"decode"``, ``"connection"``."""
    exception: Any = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data: the exception is represented by ``error`` (its ``repr``)."""
        return {"type": type(self).__name__, "error": self.error, "source": self.source}


class GiftStreakEvent(ClientEvent, frozen=True, gc=False):
    """One whole gift streak, made by ``fastlive.streaks`` from its ``GiftEvent`` messages.

    Emitted once per streak: on the message with ``repeat_end`` set, or, when that
    never arrives, after the streak's timeout (``timed_out`` is then True).  A gift
    that does not streak gives one at once.  ``count`` is the last ``repeat_count``
    and ``diamonds`` is ``count * gift.diamond_count`` (TikTokLive's figure).
    """

    room_id: int = 0
    msg_id: int = 0
    """The ``msg_id`` of the streak's last message."""
    user: User | None = None
    to_user: User | None = None
    gift_id: int = 0
    gift: Gift | None = None
    group_id: int = 0
    count: int = 0
    diamonds: int = 0
    messages: int = 0
    """``GiftEvent`` messages that made up the streak."""
    first_time: int = 0
    """``create_time`` (ms) of the first message of the streak."""
    last_time: int = 0
    """``create_time`` (ms) of the last message of the streak."""
    timed_out: bool = False


def _mapped_events() -> dict[str, type[BaseEvent]]:
    out: dict[str, type[BaseEvent]] = {}
    for name in __all__:
        cls = globals().get(name)
        if isinstance(cls, type) and issubclass(cls, BaseEvent):
            method = cls.__dict__.get("method")
            if isinstance(method, str) and method:
                out[method] = cls
    return out


EVENT_TYPES: dict[str, type[BaseEvent]] = _mapped_events()
"""Method name to the event class a message of that method becomes."""


def event_type(method: str) -> type[BaseEvent]:
    """The event class for a method name (``UnknownEvent`` when none)."""
    return EVENT_TYPES.get(method, UnknownEvent)


def _image_url(image: Any) -> str:
    return image.url_list[0] if image.url_list else ""


def _user_struct(m: Any) -> User:
    """``User`` from a protobuf User, as the decoder makes it (and its lazy fields from ``m``)."""
    user = User(
        m.id,
        m.display_id,
        m.nickname,
        m.sec_uid,
        _image_url(m.avatar_thumb),
        m.verified,
        m.follow_info.following_count,
        m.follow_info.follower_count,
        m.follow_info.follow_status,
        m.pay_grade.level,
        m.fans_club.data.club_name,
        m.fans_club.data.level,
    )
    user.__dict__["_pb"] = m
    return user


def _gift_struct(m: Any) -> Gift:
    """``Gift`` from a protobuf Gift, as the decoder makes it."""
    gift = Gift(m.id, m.name, m.diamond_count, m.type, m.combo, _image_url(m.image), m.describe)
    gift.__dict__["_pb"] = m
    return gift


_STRUCTS.update(User=_user_struct, Gift=_gift_struct)

for _method, _cls in EVENT_TYPES.items():
    _define_lazy(_cls, _method)
for _part in (
    User,
    UserIdentity,
    Gift,
    Contributor,
    Envelope,
    Question,
    BattleResult,
    BattleAnchor,
    ArmyUser,
    BattleArmy,
    RankUpdate,
    PollOption,
    SubGoal,
    Goal,
    Caption,
):
    _define_lazy(_part, _part._proto_type)
_define_lazy(Emote, "EmoteWithIndex", "EmoteModel")  # comments' emotes, emote chats' stickers
del _method, _cls, _part
