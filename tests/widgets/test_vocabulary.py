"""Every table of the pages that gives each word a label, a colour or fields names exactly the vocabulary's words."""

from __future__ import annotations

import pytest

from healthdash import vocabulary as v
from healthdash.client import ApiClient
from healthdash.widgets import events_table, fragments, invoices_table, styles, tickets_table
from healthdash.widgets.event_form import EventForm


@pytest.mark.parametrize(
    ("table", "words"),
    [
        (fragments.TIER_LABELS, v.TIERS),
        (fragments.SEGMENT_LABELS, v.SEGMENTS),
        (fragments.PLAN_LABELS, v.PLANS),
        (fragments.FACTOR_LABELS, v.FACTOR_KEYS),
        (styles.TIER_COLOURS, v.TIERS),
        (styles.TIER_BACKGROUNDS, v.TIERS),
        (events_table.EVENT_LABELS, v.EVENT_TYPES),
        (tickets_table.PRIORITY_CSS, v.PRIORITIES),
        (invoices_table.STATUS, v.INVOICE_STATUSES),
    ],
)
def test_a_table_names_every_word_once(table: dict[str, object], words: tuple[str, ...]) -> None:
    assert sorted(table) == sorted(words)


def test_the_event_form_has_fields_for_every_event_type_and_offers_every_priority() -> None:
    form = EventForm(ApiClient(""))
    assert tuple(form.fields_by_type) == v.EVENT_TYPES
    assert tuple(form.event_type.options[i][1] for i in range(len(v.EVENT_TYPES))) == v.EVENT_TYPES
    assert form.priority.options == v.PRIORITIES
