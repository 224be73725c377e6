"""The list rule: its hits and its near misses."""

from __future__ import annotations

import pytest

from tests.rules.support import assert_reply, assert_skip, mail


@pytest.mark.parametrize("header", [
    "List-Id: Developers <devel.lists.example.org>",
    "List-Post: <mailto:devel@lists.example.org>",
    "List-Unsubscribe: <https://news.example.net/u/abc>, <mailto:u@news.example.net>",
    "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
    "List-Help: <mailto:devel-request@lists.example.org?subject=help>",
    "List-Archive: <https://lists.example.org/archive/devel>",
    "list-id: <devel.lists.example.org>",
    "Mailing-List: contact devel-help@lists.example.org; run by ezmlm",
    "X-Mailing-List: <devel@lists.example.org> archive/latest/123",
    "X-List-Name: devel",
    "X-List: devel@lists.example.org",
    "X-BeenThere: devel@lists.example.org",
])
def test_list_headers(world, header):
    name = header.split(":", 1)[0]
    assert_skip(world.decide(mail(header)), "list", name)


def test_list_near_miss_headers_that_only_look_similar(world):
    # (X-List* is matched as a prefix on purpose: the README says so)
    assert_reply(world.decide(mail("Blacklist-Info: none", "X-Playlist: fado",
                                   "X-Unlisted: yes", "Enlisted-By: carl")))


def test_a_personal_message_mentioning_unsubscribe_gets_a_reply(world):
    body = ("Hi Ana,\n\nhow do I unsubscribe from the club newsletter? The unsubscribe\n"
            "link does not work for me.\n\nBob\n")
    assert_reply(world.decide(mail(body=body, subject="How to unsubscribe?")))
