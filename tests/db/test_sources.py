"""The board's bulk reads of profiles: what they hold, and that texts of a few values are held once."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from healthdash.db.sources import read_profiles


def test_profiles_hold_each_segment_plan_and_status_once_across_reads(sample_db_url: str) -> None:
    engine = create_engine(sample_db_url)
    try:
        with engine.connect() as conn:
            every = read_profiles(conn)
            some = read_profiles(conn, [int(every["id"][3]), int(every["id"][0])])
            expected = conn.execute(text("SELECT id, name, segment, plan, status FROM customers ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in expected] == list(
        zip(*(every[c].tolist() for c in ("id", "name", "segment", "plan", "status")), strict=True)
    )
    for column in ("segment", "plan", "status"):
        distinct = {value for value in every[column]}
        assert len(distinct) > 1  # the sample data has more than one of each
        assert len({id(value) for value in every[column]}) == len(distinct)  # one string object per distinct text
        again = {value: value for value in every[column]}
        assert all(value is again[value] for value in some[column])  # the same objects in a later read
    assert some["id"].tolist() == sorted(some["id"].tolist())
