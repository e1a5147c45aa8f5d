"""The event model: one msgspec Struct per kind of TikTok LIVE event.

Class and attribute names follow TikTokLive (Python), so that handlers written
for it read the same values here: ``CommentEvent.comment``, ``.user.nickname``,
``GiftEvent.gift.diamond_count``, ``LikeEvent.total`` and so on.

The compiled decoder (``fastlive._decode``) builds these positionally, so the
order of fields is part of its contract: base fields first, then each class's
own, in the order written here.  Every event keeps its message payload in
``raw``; ``event.proto()`` decodes all of it through the protobuf runtime,
for the fields fastlive does not extract eagerly.

Derived events subclass the event they come from (``FollowEvent`` is a
``SocialEvent``, ``LiveEndEvent`` a ``ControlEvent``), so a handler registered
for the base class sees them too.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

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
# Parts of events


class User(msgspec.Struct, frozen=True, gc=False):
    """A TikTok user as messages carry it (``webcast.model.base.user.User``)."""

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


class UserIdentity(msgspec.Struct, frozen=True, gc=False):
    """How the sender relates to the host (chat, gift and emote messages)."""

    is_gift_giver_of_anchor: bool = False
    is_subscriber_of_anchor: bool = False
    is_mutual_following_with_anchor: bool = False
    is_follower_of_anchor: bool = False
    is_moderator_of_anchor: bool = False
    is_anchor: bool = False


class Gift(msgspec.Struct, frozen=True, gc=False):
    """The gift a ``GiftEvent`` carries (``GiftStruct``)."""

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


class Emote(msgspec.Struct, frozen=True, gc=False):
    emote_id: str = ""
    image_url: str = ""
    index: int = -1
    """Insertion position in a comment, or -1 for a sticker-only emote chat."""


class Contributor(msgspec.Struct, frozen=True, gc=False):
    """One entry of a viewer ranking."""

    user: User | None = None
    score: int = 0
    rank: int = 0


class Envelope(msgspec.Struct, frozen=True, gc=False):
    """A treasure chest (``MessageRedEnvelopInfo``)."""

    envelope_id: str = ""
    business_type: int = 0
    send_user_name: str = ""
    send_user_id: str = ""
    diamond_count: int = 0
    people_count: int = 0
    unpack_at: int = 0


class Question(msgspec.Struct, frozen=True, gc=False):
    question_id: int = 0
    content: str = ""
    user: User | None = None
    create_time: int = 0


class BattleResult(msgspec.Struct, frozen=True, gc=False):
    user_id: int = 0
    result: int = 0
    """0 win, 1 lose, 2 draw."""
    score: int = 0


class BattleAnchor(msgspec.Struct, frozen=True, gc=False):
    user_id: int = 0
    nickname: str = ""
    unique_id: str = ""
    room_id: int = 0


class ArmyUser(msgspec.Struct, frozen=True, gc=False):
    user_id: int = 0
    nickname: str = ""
    score: int = 0


class BattleArmy(msgspec.Struct, frozen=True, gc=False):
    """One host's side in a battle: its score and its top supporters."""

    anchor_id: int = 0
    host_score: int = 0
    users: list[ArmyUser] = []


class RankUpdate(msgspec.Struct, frozen=True, gc=False):
    rank_type: int = 0
    own_rank: int = 0
    current_score: int = 0
    countdown: int = 0


class PollOption(msgspec.Struct, frozen=True, gc=False):
    option_idx: int = 0
    display_content: str = ""
    votes: int = 0


class SubGoal(msgspec.Struct, frozen=True, gc=False):
    id: int = 0
    type: int = 0
    progress: int = 0
    target: int = 0
    gift_name: str = ""
    gift_diamond_count: int = 0


class Goal(msgspec.Struct, frozen=True, gc=False):
    id: int = 0
    description: str = ""
    status: int = 0
    sub_goals: list[SubGoal] = []


class Caption(msgspec.Struct, frozen=True, gc=False):
    lang: str = ""
    content: str = ""


# ---------------------------------------------------------------------------
# The base event


class BaseEvent(msgspec.Struct, frozen=True, gc=False):
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


class CommentEvent(BaseEvent, frozen=True, gc=False):
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


class GiftEvent(BaseEvent, frozen=True, gc=False):
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


class LikeEvent(BaseEvent, frozen=True, gc=False):
    """Likes from one viewer; ``total`` is the room's running like count."""

    method: ClassVar[str] = "WebcastLikeMessage"
    user: User | None = None
    count: int = 0
    total: int = 0


class JoinEvent(BaseEvent, frozen=True, gc=False):
    """A member message: a viewer joined (``action`` 1) or another member action."""

    method: ClassVar[str] = "WebcastMemberMessage"
    user: User | None = None
    member_count: int = 0
    action: int = 0
    enter_type: int = 0


class SocialEvent(BaseEvent, frozen=True, gc=False):
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


class FollowEvent(SocialEvent, frozen=True, gc=False):
    """A viewer followed the host."""


_SHARE_VIEWERS = re.compile(r"pm_mt_guidance_viewer_([0-9]+)_share")


class ShareEvent(SocialEvent, frozen=True, gc=False):
    """A viewer shared the stream."""

    @property
    def users_joined(self) -> int | None:
        """How many viewers the share brought in, when TikTok says."""
        match = _SHARE_VIEWERS.search(self.display_key)
        return int(match.group(1)) if match else None


class RoomUserSeqEvent(BaseEvent, frozen=True, gc=False):
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


class ControlEvent(BaseEvent, frozen=True, gc=False):
    """A control message: 1 paused, 2 unpaused, 3 ended, 4 ended by the platform."""

    method: ClassVar[str] = "WebcastControlMessage"
    action: int = 0
    tips: str = ""


class LivePauseEvent(ControlEvent, frozen=True, gc=False):
    """The host paused the stream."""


class LiveUnpauseEvent(ControlEvent, frozen=True, gc=False):
    """The host resumed the stream."""


class LiveEndEvent(ControlEvent, frozen=True, gc=False):
    """The stream ended (by the host, or suspended by TikTok)."""


class EmoteChatEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastEmoteChatMessage"
    user: User | None = None
    emotes: list[Emote] = []
    user_identity: UserIdentity | None = None


class EnvelopeEvent(BaseEvent, frozen=True, gc=False):
    """A treasure chest appeared (``display`` 1) or went away."""

    method: ClassVar[str] = "WebcastEnvelopeMessage"
    envelope: Envelope | None = None
    display: int = 0


class SuperFanBoxEvent(EnvelopeEvent, frozen=True, gc=False):
    """A super-fan box (envelope business type 19)."""


class SubNotifyEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastSubNotifyMessage"
    user: User | None = None
    sub_month: int = 0
    subscribe_type: int = 0
    old_subscribe_status: int = 0
    subscribing_status: int = 0


class QuestionNewEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastQuestionNewMessage"
    question: Question | None = None


class LinkMicBattleEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastLinkMicBattle"
    battle_id: int = 0
    action: int = 0
    status: int = 0
    """``battle_settings.status``: 1 started, 2 finished."""
    start_time_ms: int = 0
    duration: int = 0
    results: list[BattleResult] = []
    anchors: list[BattleAnchor] = []


class LinkMicArmiesEvent(BaseEvent, frozen=True, gc=False):
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


class LiveIntroEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastLiveIntroMessage"
    id: int = 0
    content: str = ""
    user: User | None = None
    intro_mode: int = 0
    content_language: str = ""


class RoomPinEvent(BaseEvent, frozen=True, gc=False):
    """A message pinned (``action`` 1) or unpinned (2); ``pinned`` is that message."""

    method: ClassVar[str] = "WebcastRoomPinMessage"
    action: int = 0
    pin_time: int = 0
    pinned_method: str = ""
    pinned: BaseEvent | None = None
    operator: User | None = None
    pin_msg_id: int = 0


class PollEvent(BaseEvent, frozen=True, gc=False):
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


class GoalUpdateEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastGoalUpdateMessage"
    goal: Goal | None = None
    contributor_id: int = 0
    contributor_unique_id: str = ""
    contribute_count: int = 0
    contribute_score: int = 0


class RankUpdateEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastRankUpdateMessage"
    updates: list[RankUpdate] = []
    group_type: int = 0


class HourlyRankRewardEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastHourlyRankRewardMessage"
    winner_ids: list[int] = []


class BarrageEvent(BaseEvent, frozen=True, gc=False):
    """A banner across the chat (level-ups, super fans...)."""

    method: ClassVar[str] = "WebcastBarrageMessage"
    msg_type: int = 0
    content_key: str = ""
    """``content.key`` or, when empty, ``common_barrage_content.key``."""
    user: User | None = None


class SuperFanEvent(BarrageEvent, frozen=True, gc=False):
    """A viewer became a super fan."""


class SuperFanJoinEvent(BarrageEvent, frozen=True, gc=False):
    """A super fan joined the room."""


class CaptionEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastCaptionMessage"
    timestamp_ms: int = 0
    duration_ms: int = 0
    content: list[Caption] = []
    sentence_id: int = 0
    sequence_id: int = 0
    definite: bool = False


class ImDeleteEvent(BaseEvent, frozen=True, gc=False):
    """Moderation: messages or users whose messages to remove from view."""

    method: ClassVar[str] = "WebcastImDeleteMessage"
    delete_msg_ids: list[int] = []
    delete_user_ids: list[int] = []


class InRoomBannerEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastInRoomBannerMessage"


# ---------------------------------------------------------------------------
# Events kept as payloads: base fields eagerly, the rest through ``proto()``


class LinkEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastLinkMessage"


class RoomEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastRoomMessage"


class SystemEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastSystemMessage"


class RankTextEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastRankTextMessage"


class AccessControlEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastAccessControlMessage"


class AccessRecallEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastAccessRecallMessage"


class BoostCardEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastBoostCardMessage"


class BottomEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastBottomMessage"


class CapsuleEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastCapsuleMessage"


class GameRankNotifyEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastGameRankNotifyMessage"


class GiftBroadcastEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastGiftBroadcastMessage"


class GiftDynamicRestrictionEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastGiftDynamicRestrictionMessage"


class GiftPanelUpdateEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastGiftPanelUpdateMessage"


class GiftPromptEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastGiftPromptMessage"


class GuideEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastGuideMessage"


class LinkLayerEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastLinkLayerMessage"


class LinkMicBattleItemCardEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastLinkMicBattleItemCard"


class LinkMicBattlePunishFinishEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastLinkMicBattlePunishFinish"


class LinkMicFanTicketMethodEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastLinkMicFanTicketMethod"


class LinkMicLayoutStateEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastLinkMicLayoutStateMessage"


class LinkMicMethodEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastLinkMicMethod"


class LinkStateEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastLinkStateMessage"


class LinkmicBattleTaskEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastLinkmicBattleTaskMessage"


class LiveGameIntroEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastLiveGameIntroMessage"


class MarqueeAnnouncementEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastMarqueeAnnouncementMessage"


class MessageDetectEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastMsgDetectMessage"


class NoticeEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastNoticeMessage"


class OecLiveShoppingEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastOecLiveShoppingMessage"


class PartnershipDropsUpdateEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastPartnershipDropsUpdateMessage"


class PartnershipGameOfflineEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastPartnershipGameOfflineMessage"


class PartnershipPunishEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastPartnershipPunishMessage"


class PerceptionEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastPerceptionMessage"


class RoomNotifyEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastRoomNotifyMessage"


class RoomVerifyEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastRoomVerifyMessage"


class SpeakerEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastSpeakerMessage"


class SubPinEventEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastSubPinEventMessage"


class ToastEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastToastMessage"


class UnauthorizedMemberEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastUnauthorizedMemberMessage"


class ViewerPicksUpdateEvent(BaseEvent, frozen=True, gc=False):
    method: ClassVar[str] = "WebcastViewerPicksUpdateMessage"


# ---------------------------------------------------------------------------
# Not from a known method


class UnknownEvent(BaseEvent, frozen=True, gc=False):
    """A message whose method fastlive has no event for; never an error."""

    method: str = ""  # type: ignore[misc]  # an instance field here


class DecodeErrorEvent(BaseEvent, frozen=True, gc=False):
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
