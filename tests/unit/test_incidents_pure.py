"""Incident mode's pure parts, as properties: pacing never breaks a network's window whatever was
sent before; grouping gives the same topics whatever order the posts come in; texts on X are never
the same twice; a customer is answered once however many posts they made."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.incidents import broadcast, pacing, topics
from tests.support.incident_storm import BACKGROUND, LOGIN, PAYMENT, day

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _room_at_each(planned: list[datetime], earlier: list[datetime], network: str) -> bool:
    """At each planned time, no window ending then holds more posts than its limit (the earlier
    ones counted, even when they had already broken a window themselves)."""
    everything = sorted(planned + earlier)
    for at in planned:
        for window in pacing.limits_of(network):
            if sum(1 for t in everything if at - window.period < t <= at) > window.posts:
                return False
    return True


@pytest.mark.parametrize("network", ["x", "bluesky", "mastodon"])
@pytest.mark.parametrize("seed", range(6))
def test_a_plan_never_breaks_a_window_counting_what_was_sent_before(network: str, seed: int):
    rng = random.Random(seed)
    earlier = [NOW - timedelta(seconds=rng.uniform(0, 4 * 3600)) for _ in range(rng.randint(0, 400))]
    count = rng.randint(1, 400)
    planned = pacing.plan(network, count, now=NOW, earlier=earlier)
    assert len(planned) == count
    assert planned == sorted(planned)
    assert all(at >= NOW for at in planned)
    assert _room_at_each(planned, earlier, network)


def test_three_hundred_on_x_go_in_22_minutes_and_the_301st_waits_three_hours():
    planned = pacing.plan("x", 301, now=NOW)
    assert planned[199] - NOW < timedelta(minutes=15)
    assert planned[299] - NOW == timedelta(minutes=22, seconds=25.5)
    assert planned[300] - planned[0] == timedelta(hours=3)


def test_a_plan_starts_after_replies_already_planned_for_later():
    first = pacing.plan("mastodon", 10, now=NOW)
    second = pacing.plan("mastodon", 5, now=NOW, earlier=first)
    assert second[0] > first[-1]


def _items(posts: list) -> list[topics.Item]:
    return [topics.Item(i, p.author, p.at, topics.terms(p.text)) for i, p in enumerate(posts)]


def _partition(groups: list[topics.Topic]) -> set[frozenset[int]]:
    return {frozenset(i.key for i in g.items) for g in groups if len(g.items) >= 15}


@pytest.mark.parametrize("seed", [1, 5])
def test_grouping_does_not_depend_on_the_order_posts_are_given_in(seed: int):
    posts = day(seed=seed, half=0, start=NOW, background=200, login=80, payment=40)
    items = _items(posts)
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)
    assert _partition(topics.group(items)) == _partition(topics.group(shuffled))


def test_an_outage_told_in_many_wordings_is_one_topic_and_two_outages_are_two():
    posts = day(seed=1, half=0, start=NOW, background=300, login=120, payment=60)
    groups = [g for g in topics.group(_items(posts)) if len(g.items) >= 15]
    login = max(groups, key=lambda g: sum(posts[i.key].topic == "login" for i in g.items))
    payment = max(groups, key=lambda g: sum(posts[i.key].topic == "payment" for i in g.items))
    assert login is not payment
    in_login = [posts[i.key].topic for i in login.items]
    assert in_login.count("login") >= 0.95 * sum(p.topic == "login" for p in posts)
    assert in_login.count("login") >= 0.95 * len(in_login)
    assert "login" in login.profile.telling()
    assert "payment" in payment.profile.telling()


@pytest.mark.parametrize(
    "text",
    [
        "I logged in to track my parcel and it is still 9 days late",
        "my parcel is 12 days late and tracking hasn't moved",
        "still waiting for my refund from May",
    ],
)
def test_an_ordinary_complaint_sharing_a_word_is_not_absorbed_by_a_grown_topic(text: str):
    profile = topics.Profile()
    rng = random.Random(2)
    for _ in range(200):
        profile.add(topics.terms(rng.choice(LOGIN)))
    assert not profile.fits(topics.terms(text))
    assert profile.fits(topics.terms("can't log in since this morning, error again"))


def test_words_that_name_no_outage_are_left_out():
    assert topics.terms("@AcmeHelp the app is broken, worst service ever, please help https://t.co/x") == frozenset()
    assert topics.terms("Can't LOG IN!! sign-in broken") == frozenset({"login", topics.STATED + "login"})
    assert topics.terms("signed in to check my bill") == frozenset({"login", "check", "bill"})
    assert "payment" in topics.terms("paying by card fails at check-out")
    assert {"checkout"} <= topics.terms("paying by card fails at check-out")


STATED_LOGIN = [
    "it won't let me in since the update this morning",
    "locked out of my account right when I need my receipts",
    "the two-factor code never shows up on my phone",
    "session expired pops up every few seconds on the tablet",
    "keeps saying my details are wrong, they are definitely right",
    "cant get into my acct on any browser",
    "kicked me out halfway through changing my address",
    "says wrong password, reset it three times, same",
    "the app says it couldn't verify who I am, twice now",
    "typed the code from the sms and it expired instantly",
    "my profile is just a white screen since lunch",
    "no account found for my email?? I've ordered for years",
    "entered my email, pressed next and it spins forever",
    "keeps sending me back to the start after my password",
]
STATED_PAYMENT = [
    "my visa was refused twice tonight, bank says all fine",
    "basket won't go through, tried three different cards",
    "money gone from my account but no order confirmation",
    "klarna screen spins forever then nothing",
    "stuck on processing after the bank screen, did it charge me",
    "pending charge on my statement and still no order",
    "checkout broken?",
    "error at the last stage every single time",
    "£52 has come out of my bank and there is no order anywhere",
]
MENTIONS = [
    "logged in to track my parcel and it's still late",
    "refund to my card still hasn't arrived after two weeks",
    "gift card got rejected at the till in York",
    "signed in to change my address and the form is fine, parcel still lost",
    "entered my email for the newsletter and never got the discount",
    "typed my card details in store and the till printed two receipts",
    "my order failed to arrive on the day you promised",
    "the last step of the returns form makes no sense",
    "paid for next day delivery, came four days later",
    "reset my password last week and now I get three marketing emails a day",
    "the promo code from the app expired before I could use it",
    "my account still shows the old address, please change it",
    "£12 delivery charge for a parcel that never came",
]


@pytest.mark.parametrize("text", STATED_LOGIN)
def test_a_login_failure_told_in_any_words_carries_the_failure(text: str):
    words = topics.terms(text)
    assert {"login", topics.STATED + "login"} <= words, sorted(words)
    assert topics.STATED + "payment" not in words


@pytest.mark.parametrize("text", STATED_PAYMENT)
def test_a_payment_failure_told_in_any_words_carries_the_failure(text: str):
    words = topics.terms(text)
    assert {"payment", topics.STATED + "payment"} <= words, sorted(words)
    assert topics.STATED + "login" not in words


@pytest.mark.parametrize("text", MENTIONS)
def test_a_mere_mention_of_logging_in_or_a_card_states_no_failure(text: str):
    assert not any(w.startswith(topics.STATED) for w in topics.terms(text)), sorted(topics.terms(text))


def test_the_mark_weighs_in_the_similarity_and_is_never_counted():
    """The mark is no word: a topic's counts and the background never hold it, and a post stating
    the failure is nearer the outage than the same words merely mentioning it."""
    profile, background = topics.Profile(), topics.Background()
    for text in STATED_LOGIN * 3:
        profile.add(topics.terms(text))
        background.add(topics.terms(text))
    assert not any(w.startswith(topics.STATED) for w in [*profile.counts, *background.counts])
    long_one = topics.terms("bank keeps refusing the transaction but they say nothing is blocked on their end")
    assert topics.STATED + "payment" in long_one
    outage = topics.Profile()
    for text in STATED_PAYMENT * 4:
        outage.add(topics.terms(text))
    unmarked = frozenset(topics.plain(long_one))
    assert outage.similarity(long_one) > outage.similarity(unmarked) * 1.3


def _customer(n: int, name: str = "Sam") -> broadcast.Customer:
    return broadcast.Customer(n, "x", str(n), f"user{n}", name, str(1000 + n), "@AcmeHelp login broken")


def test_texts_on_x_are_distinct_even_when_every_customer_has_the_same_name():
    used: set[str] = set()
    texts = [
        broadcast._distinct(broadcast.render("{name}, fixed now. Sorry!", _customer(n)), _customer(n), used, named=True)
        for n in range(50)
    ]
    assert len({" ".join(t.split()).casefold() for t in texts}) == 50
    assert texts[0] == "Sam, fixed now. Sorry!"  # the template as written while it is unique
    assert all(t.count("Sam") == 1 for t in texts), "a template that names them is not greeted twice"
    plain: set[str] = set()
    greeted = [broadcast._distinct("Fixed now. Sorry!", _customer(n), plain) for n in range(2)]
    assert greeted == ["Fixed now. Sorry!", "Hi Sam, Fixed now. Sorry!"], "one that does not may be"


def test_unknown_placeholders_and_empty_templates_are_refused_with_the_fix():
    with pytest.raises(Exception, match=r"\{name\}"):
        broadcast.check_template("Hi {first_name}, fixed")
    with pytest.raises(Exception, match="Write the update"):
        broadcast.check_template("  ")


def test_the_background_wordings_are_not_the_outages():
    assert not set(BACKGROUND) & (set(LOGIN) | set(PAYMENT))
