"""``fastlive._listeners.Listeners``: callbacks by event class, routed along the MRO."""

from __future__ import annotations

import pytest

from fastlive._listeners import Listeners


class Base:
    pass


class Middle(Base):
    pass


class Leaf(Middle):
    pass


def f(event):
    pass


def g(event):
    pass


def h(event):
    pass


def test_route_follows_the_mro_most_specific_first():
    table: Listeners = Listeners()
    table.add(Base, f)
    table.add(Leaf, g)
    table.add(Middle, h)
    table.add(Leaf, f)
    assert table.route(Leaf) == (g, f, h, f)
    assert table.route(Middle) == (h, f)
    assert table.route(Base) == (f,)
    assert table.route(object) == ()
    assert table.route(int) == ()


def test_route_is_cached_until_the_table_changes():
    table: Listeners = Listeners()
    table.add(Base, f)
    first = table.route(Leaf)
    assert table.route(Leaf) is first
    table.add(Middle, g)
    assert table.route(Leaf) == (g, f)
    table.remove(Base, f)
    assert table.route(Leaf) == (g,)
    table.clear(Middle)
    assert table.route(Leaf) == ()
    table.add(Leaf, h)
    assert table.route(Leaf) == (h,)
    table.clear()
    assert table.route(Leaf) == ()


def test_add_returns_the_callback_and_keeps_duplicates():
    table: Listeners = Listeners()
    assert table.add(Base, f) is f
    table.add(Base, f)
    assert table.get(Base) == [f, f]
    table.remove(Base, f)
    assert table.get(Base) == [f]


def test_has_and_get_see_exact_classes_only():
    table: Listeners = Listeners()
    table.add(Middle, f)
    assert table.has(Middle)
    assert not table.has(Leaf)
    assert not table.has(Base)
    assert table.get(Leaf) == []
    copy = table.get(Middle)
    copy.append(g)
    assert table.get(Middle) == [f]
    table.remove(Middle, f)
    assert not table.has(Middle)
    assert table.get(Middle) == []


def test_clear_one_class_or_all():
    table: Listeners = Listeners()
    table.add(Base, f)
    table.add(Leaf, g)
    table.clear(Middle)  # nothing registered there: no error
    table.clear(Base)
    assert not table.has(Base)
    assert table.has(Leaf)
    table.clear()
    assert not table.has(Leaf)


def test_errors():
    table: Listeners = Listeners()
    with pytest.raises(TypeError, match="listen to an event class, not 'comment'"):
        table.add("comment", f)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="is not callable"):
        table.add(Base, 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is not listening to Base"):
        table.remove(Base, f)
    table.add(Middle, f)
    with pytest.raises(ValueError, match="is not listening to Leaf"):
        table.remove(Leaf, f)  # registered on a base class, not on Leaf
    with pytest.raises(ValueError, match="is not listening to Middle"):
        table.remove(Middle, g)
    assert table.route(Leaf) == (f,)
