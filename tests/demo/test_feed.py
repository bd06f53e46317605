from __future__ import annotations

import json

import pytest

from tether.demo.feed import (
    FeedEntry,
    FeedError,
    build_feed,
    http_date,
    iso,
    last_modified,
    not_modified,
    parse_feed,
    parse_http_date,
)


def test_iso_has_milliseconds_and_utc_offset() -> None:
    assert iso(1558353.5) == "1970-01-19T00:52:33.500+00:00"


def test_http_date_round_trip() -> None:
    assert http_date(784887151) == "Tue, 15 Nov 1994 08:12:31 GMT"
    assert parse_http_date("Tue, 15 Nov 1994 08:12:31 GMT") == 784887151
    assert parse_http_date("yesterday") is None
    assert parse_http_date(None) is None


def test_last_modified_never_announces_the_current_second() -> None:
    assert last_modified(100.4, now=105.0) == 100
    assert last_modified(100.4, now=100.9) == 99


def test_a_change_in_the_announced_second_is_not_missed() -> None:
    # Served at 100.5 after a change at 100.2: announces 99, so the next poll gets the feed
    # even though another change came at 100.7.
    announced = last_modified(100.2, now=100.5)
    assert not not_modified(http_date(announced), last_change=100.7)


def test_not_modified_compares_whole_seconds() -> None:
    assert not_modified(http_date(100), last_change=100.9)
    assert not_modified(http_date(101), last_change=100.9)
    assert not not_modified(http_date(99), last_change=100.0)
    assert not not_modified(None, last_change=1.0)
    assert not not_modified("garbage", last_change=1.0)


def test_build_feed_links_by_service_name_newest_first() -> None:
    document = build_feed([(1, 10.0), (2, 20.0)], 30.0, "http://order/")
    assert document["updated"] == iso(30.0)
    assert document["orders"] == [
        {"id": 2, "link": "http://order/order/2", "updated": iso(20.0)},
        {"id": 1, "link": "http://order/order/1", "updated": iso(10.0)},
    ]


def test_parse_feed_reads_the_books_example() -> None:
    body = json.dumps(
        {
            "updated": "2019-05-20T11:49:22.111+00:00",
            "orders": [
                {
                    "id": 1,
                    "link": "http://localhost:8081/order/1",
                    "updated": "2019-05-20T11:49:22.111+00:00",
                }
            ],
        }
    ).encode()
    assert parse_feed(body) == [FeedEntry(1, "http://localhost:8081/order/1", "2019-05-20T11:49:22.111+00:00")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>", "feed is not JSON"),
        (b"\xff", "feed is not JSON"),
        (b"[]", 'feed has no "orders" list'),
        (b'{"orders": [1]}', "feed orders[0] is not an object"),
        (b'{"orders": [{"id": "1", "link": "x"}]}', "feed orders[0].id is not an integer"),
        (b'{"orders": [{"id": true, "link": "x"}]}', "feed orders[0].id is not an integer"),
        (b'{"orders": [{"id": 1}]}', "feed orders[0].link is missing"),
    ],
)
def test_parse_feed_names_the_bad_part(body: bytes, message: str) -> None:
    with pytest.raises(FeedError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_feed(body)
