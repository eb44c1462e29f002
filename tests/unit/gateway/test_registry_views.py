"""The kiosk's view of a catalogue item, from the registry's own messages for the real catalogue
(``services/registry/data/catalogue``): made once per distinct message and shared, and a changed
item (the registry redeployed with a new fee) is a new view, never the old one; the kiosk's answer
for an item is made once per view and language, likewise."""

from __future__ import annotations

import dataclasses

from baylink.registry.v1 import catalogue_pb2 as cat_pb
from services.gateway.clients import registry_views as views
from services.gateway.kiosk.entrypoints.responses import _ITEM_OUTS, ITEM_OUTS_KEPT, CatalogueItemOut
from services.gateway.kiosk.service_layer.model import Money
from services.registry.adapters.catalogue_file import load_catalogue
from services.registry.adapters.proto_mapping import catalogue_item as to_message


def nanhai_messages() -> list[cat_pb.CatalogueItem]:
    return [to_message(item) for item in load_catalogue().items("440605")]


def test_the_same_item_twice_is_one_shared_view() -> None:
    first, again = nanhai_messages(), nanhai_messages()  # separate messages, as two gRPC answers are
    assert len(first) > 1
    for a, b in zip(first, again, strict=True):
        assert views.catalogue_item(a) is views.catalogue_item(b)


def test_a_changed_item_is_a_new_view() -> None:
    message = next(m for m in nanhai_messages() if m.fee.minor_units and m.procedure_steps)
    before = views.catalogue_item(message)
    assert before.fee is not None
    message.fee.minor_units += 100
    message.procedure_steps[0].en = "A step the registry added"
    after = views.catalogue_item(message)
    assert after is not before
    assert after.fee == Money(before.fee.currency, before.fee.minor_units + 100)
    assert after.procedure_steps[0]["en"] == "A step the registry added"
    assert before.procedure_steps[0].get("en") != "A step the registry added"
    assert views.catalogue_item(message) is after


def test_distinct_items_are_distinct_views() -> None:
    shown = [views.catalogue_item(m) for m in nanhai_messages()]
    assert len({v.item_id for v in shown}) == len(shown)
    assert [v.item_id for v in shown] == [m.item_id for m in nanhai_messages()]


def test_an_item_s_answer_is_made_once_per_view_and_language_and_follows_a_changed_item() -> None:
    message = next(m for m in nanhai_messages() if m.fee.minor_units and m.procedure_steps)
    view = views.catalogue_item(message)
    english = CatalogueItemOut.of(view, "en")
    again = next(m for m in nanhai_messages() if m.item_id == message.item_id)  # another answer, the same item
    assert CatalogueItemOut.of(views.catalogue_item(again), "en") is english
    assert CatalogueItemOut.of(view, "zh-Hant") is not english
    assert CatalogueItemOut.of(view, "zh-Hant").title == view.title["zh-Hant"] != english.title
    message.fee.minor_units += 100  # the registry redeployed with a new fee: a new view, a new answer
    changed = CatalogueItemOut.of(views.catalogue_item(message), "en")
    assert changed is not english
    assert changed.fee is not None and english.fee is not None
    assert changed.fee.minor_units == english.fee.minor_units + 100


def test_the_answers_kept_are_bounded() -> None:
    shown = [views.catalogue_item(m) for m in nanhai_messages()]
    for _ in range(ITEM_OUTS_KEPT // len(shown) + 2):
        for view in shown:
            for language in ("en", "pt", "zh-Hans", "zh-Hant"):
                CatalogueItemOut.of(view, language)
        shown = [dataclasses.replace(v) for v in shown]  # equal views, other objects: other entries
    assert len(_ITEM_OUTS) == ITEM_OUTS_KEPT
