"""The public surface: ``fastlive.__all__`` is what the package offers, nothing missing."""

import fastlive
import fastlive.events
import fastlive.exceptions


def test_all_names_exist():
    for name in fastlive.__all__:
        assert hasattr(fastlive, name), name


def test_every_event_and_error_is_public():
    for module in (fastlive.events, fastlive.exceptions):
        for name in module.__all__:
            assert name in fastlive.__all__, name


def test_errors_share_one_base():
    for name in fastlive.exceptions.__all__:
        assert issubclass(getattr(fastlive.exceptions, name), fastlive.FastLiveError)


def test_sixty_two_mapped_methods():
    # protocol notes 4.1: TikTokLive and the Node connector map the same 62 method names
    assert len(fastlive.EVENT_TYPES) == 62
