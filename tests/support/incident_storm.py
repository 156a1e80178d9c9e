"""A synthetic day of complaints with two overlapping outages, for incident tests and the bench.

Each outage is told in many wordings, as customers do; the background is the ordinary day's
complaints on many subjects, some of them using an outage's words for something else ("I logged
in to track my parcel and it is still late"). Fifteen sets of wordings, chosen by ``half``: 0 was
what detection was tuned on; 1, 2 and 3 were each written before a measurement, measured once, then
looked at; 4 to 14 were written by someone who had not read the grouping code (``_fifth`` …
``_fifteenth``), each after the one before's measurement — see ``bench/incidents.py``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from tests.support.incident_storm_eighth import BACKGROUND_EIGHTH, LOGIN_EIGHTH, PAYMENT_EIGHTH
from tests.support.incident_storm_eleventh import BACKGROUND_ELEVENTH, LOGIN_ELEVENTH, PAYMENT_ELEVENTH
from tests.support.incident_storm_fifteenth import BACKGROUND_FIFTEENTH, LOGIN_FIFTEENTH, PAYMENT_FIFTEENTH
from tests.support.incident_storm_fifth import BACKGROUND_FIFTH, LOGIN_FIFTH, PAYMENT_FIFTH
from tests.support.incident_storm_fourteenth import BACKGROUND_FOURTEENTH, LOGIN_FOURTEENTH, PAYMENT_FOURTEENTH
from tests.support.incident_storm_ninth import BACKGROUND_NINTH, LOGIN_NINTH, PAYMENT_NINTH
from tests.support.incident_storm_seventh import BACKGROUND_SEVENTH, LOGIN_SEVENTH, PAYMENT_SEVENTH
from tests.support.incident_storm_sixth import BACKGROUND_SIXTH, LOGIN_SIXTH, PAYMENT_SIXTH
from tests.support.incident_storm_tenth import BACKGROUND_TENTH, LOGIN_TENTH, PAYMENT_TENTH
from tests.support.incident_storm_thirteenth import BACKGROUND_THIRTEENTH, LOGIN_THIRTEENTH, PAYMENT_THIRTEENTH
from tests.support.incident_storm_twelfth import BACKGROUND_TWELFTH, LOGIN_TWELFTH, PAYMENT_TWELFTH

LOGIN = [
    "can't log in to the app, keeps saying error",
    "login is broken again?? been trying for ages",
    "is your login down? nothing works",
    "the sign-in page just spins and spins",
    "unable to sign in on my phone or laptop",
    "log in failing with 'something went wrong'",
    "login not working, locked out of my account",
    "why can't I log into my account this morning",
    "sign in button does nothing. outage?",
    "trying to log in for an hour, error 503",
    "your login server is down, fix it",
    "cannot login at all, password is right",
    "anyone else unable to log in? just me?",
    "login keeps timing out, really annoying",
    "signing in gives me a blank screen",
    "stuck on the login screen, please sort this",
    "log-in broken on android and ios",
    "your sign in is failing for everyone I know",
    "can't get past login, invalid session error",
    "logging in impossible right now, what's going on",
    "login error every single time I try",
    "the login page won't load at all",
    "i keep getting logged out and can't log back in",
    "login down? my account won't open",
]
PAYMENT = [
    "payment keeps failing at checkout",
    "my card payment was declined but money taken",
    "checkout is broken, can't pay for my order",
    "payments failing, error at the last step",
    "tried to pay 3 times, declined every time",
    "why is my payment not going through",
    "checkout payment error, basket emptied",
    "card declined on checkout but the card is fine",
    "your payment page crashes when I click pay",
    "can't complete checkout, payment failed message",
    "charged twice and the payment still shows failed",
    "payment system down? order won't go through",
    "paying by card gives an error at checkout",
    "checkout won't accept any card, payment declined",
    "the pay button fails, payment not processed",
    "payment error 402 on checkout, please fix",
]
BACKGROUND = [
    "my parcel is {n} days late and tracking hasn't moved",
    "still waiting for my refund from {month}",
    "the driver left my delivery in the rain, box soaked",
    "ordered a blue {item} and got a red one",
    "your staff at the {city} store were so rude to me",
    "on hold for {n} minutes, nobody picks up",
    "my {item} arrived smashed, want a replacement",
    "cancelled my subscription but you charged me again",
    "price went up without any notice, not happy",
    "the {item} stopped working after {n} days",
    "I logged in to track my parcel and it is still {n} days late",
    "refund was promised by {month}, nothing yet",
    "missing item from my order, only half arrived",
    "courier says delivered, nothing at my door",
    "your chat bot is useless, I need a person",
    "wrong address on my order and no way to change it",
    "the {item} is faulty and the warranty claim got ignored",
    "paid for next day delivery, it's been {n} days",
    "the app crashes when I open my orders list",
    "your email receipts never arrive",
    "voucher code doesn't apply to my basket",
    "store in {city} closed early, wasted trip",
    "returned the {item} weeks ago, no refund yet",
    "you sent my order to the wrong city",
]
# Written after the first measurement on ``half=1`` (see bench/incidents.py), before any change that
# followed it, and never used while tuning: ``half=2`` is the final check.
LOGIN_FRESH = [
    "is anyone else locked out? login just says try again later",
    "app won't let me sign in, keeps bouncing me to the start",
    "login page throws an error code every time",
    "can't access my account, sign in fails after the password step",
    "your login is dead for me and my partner",
    "log in broken since 10am, what is happening",
    "two factor code never arrives so I can't log in",
    "sign in spinning forever on the website",
    "keeps saying my login details are wrong, they are not",
    "cannot sign into the app at all today",
    "logged out and now login won't work",
    "login failing on every device I own",
]
PAYMENT_FRESH = [
    "checkout keeps rejecting my card, tried two cards",
    "payment failed three times, is your payment system down?",
    "can't pay, checkout page errors after I enter card details",
    "card keeps getting declined at checkout, bank says it's fine",
    "payment page broken, order won't complete",
    "was charged but checkout said payment failed",
    "unable to pay for anything, payment error every time",
    "checkout is stuck on processing payment",
]
BACKGROUND_FRESH = [
    "delivery van never turned up, waited in all day",
    "the {item} I ordered is the wrong size",
    "refund still not in my account after {n} days",
    "engineer missed the appointment again",
    "bill is double what it should be this month",
    "customer service hung up on me twice",
    "my {item} came with parts missing",
    "order cancelled without telling me why",
    "the {city} branch is always out of stock",
    "tracking says out for delivery for {n} days now",
    "signed in to check my bill and it's wrong again",
    "the replacement {item} is broken too",
]
# A fourth set, written after the third's one measurement (recall 0.915) and before any change that
# follows it: ``half=3``.
LOGIN_FOURTH = [
    "can't get into my account, the login page keeps erroring",
    "login broken for anyone else? stuck on the loading wheel",
    "sign in not accepting my password, reset email never comes",
    "app logs me out and then login fails every time",
    "website login down?? tried chrome and safari",
    "keep getting 'unable to sign in' this morning",
    "login has been failing for 20 minutes now",
    "account locked out, login attempts all failing",
    "is the log in service down? error every time",
    "cannot sign in on the app since the update",
    "login screen just freezes, can't get in",
    "my login won't work and I need to pay a bill",
]
PAYMENT_FOURTH = [
    "card payment rejected at checkout again",
    "checkout says payment could not be processed",
    "trying to pay and it keeps failing, card is fine",
    "payment declined three times, bank says no issue",
    "checkout broken, payment spinner never stops",
    "can't place my order, payment keeps erroring",
    "your payment page rejects every card I try",
    "paid but checkout showed an error and no order",
]
BACKGROUND_FOURTH = [
    "parcel went to a neighbour I don't know",
    "the {item} smells burnt out of the box",
    "waited {n} days for a callback that never came",
    "my discount wasn't applied to the {item}",
    "the {city} shop refused my return",
    "delivery slot moved without asking me",
    "invoice shows items I never ordered",
    "the {item} manual is missing pages",
    "chat agent closed the chat mid conversation",
    "refund went to an old card that is cancelled",
    "logged in to change my address and it still ships to the old one",
    "courier damaged my gate and left",
]
FILLERS = ["", "", "", "!!", " @AcmeHelp", " seriously", " #fail", " 😡", " ugh", " help"]
ITEMS = ["kettle", "jacket", "phone case", "lamp", "blender", "toaster", "backpack"]
CITIES = ["Leeds", "Bristol", "Glasgow", "Cardiff", "York"]
MONTHS = ["March", "April", "May", "June"]


@dataclass(frozen=True)
class StormPost:
    id: str
    author: str
    text: str
    at: datetime
    topic: str | None
    """``login``, ``payment`` or None (an ordinary complaint)."""
    network: str


FRESH = {id(LOGIN): LOGIN_FRESH, id(PAYMENT): PAYMENT_FRESH, id(BACKGROUND): BACKGROUND_FRESH}
FOURTH = {id(LOGIN): LOGIN_FOURTH, id(PAYMENT): PAYMENT_FOURTH, id(BACKGROUND): BACKGROUND_FOURTH}
FIFTH = {id(LOGIN): LOGIN_FIFTH, id(PAYMENT): PAYMENT_FIFTH, id(BACKGROUND): BACKGROUND_FIFTH}
SIXTH = {id(LOGIN): LOGIN_SIXTH, id(PAYMENT): PAYMENT_SIXTH, id(BACKGROUND): BACKGROUND_SIXTH}
SEVENTH = {id(LOGIN): LOGIN_SEVENTH, id(PAYMENT): PAYMENT_SEVENTH, id(BACKGROUND): BACKGROUND_SEVENTH}
EIGHTH = {id(LOGIN): LOGIN_EIGHTH, id(PAYMENT): PAYMENT_EIGHTH, id(BACKGROUND): BACKGROUND_EIGHTH}
NINTH = {id(LOGIN): LOGIN_NINTH, id(PAYMENT): PAYMENT_NINTH, id(BACKGROUND): BACKGROUND_NINTH}
TENTH = {id(LOGIN): LOGIN_TENTH, id(PAYMENT): PAYMENT_TENTH, id(BACKGROUND): BACKGROUND_TENTH}
ELEVENTH = {id(LOGIN): LOGIN_ELEVENTH, id(PAYMENT): PAYMENT_ELEVENTH, id(BACKGROUND): BACKGROUND_ELEVENTH}
TWELFTH = {id(LOGIN): LOGIN_TWELFTH, id(PAYMENT): PAYMENT_TWELFTH, id(BACKGROUND): BACKGROUND_TWELFTH}
THIRTEENTH = {id(LOGIN): LOGIN_THIRTEENTH, id(PAYMENT): PAYMENT_THIRTEENTH, id(BACKGROUND): BACKGROUND_THIRTEENTH}
FOURTEENTH = {id(LOGIN): LOGIN_FOURTEENTH, id(PAYMENT): PAYMENT_FOURTEENTH, id(BACKGROUND): BACKGROUND_FOURTEENTH}
FIFTEENTH = {id(LOGIN): LOGIN_FIFTEENTH, id(PAYMENT): PAYMENT_FIFTEENTH, id(BACKGROUND): BACKGROUND_FIFTEENTH}


LATER_SETS = {
    2: FRESH,
    3: FOURTH,
    4: FIFTH,
    5: SIXTH,
    6: SEVENTH,
    7: EIGHTH,
    8: NINTH,
    9: TENTH,
    10: ELEVENTH,
    11: TWELFTH,
    12: THIRTEENTH,
    13: FOURTEENTH,
    14: FIFTEENTH,
}
"""The sets written after the first, by ``half``; 0 and 1 are the first set's halves."""


def _pick(rng: random.Random, wordings: list[str], half: int) -> str:
    mine = LATER_SETS[half][id(wordings)] if half in LATER_SETS else wordings[half::2]
    text = rng.choice(mine).format(
        n=rng.randint(2, 40), item=rng.choice(ITEMS), city=rng.choice(CITIES), month=rng.choice(MONTHS)
    )
    if rng.random() < 0.3:
        text = text.capitalize()
    return "@AcmeHelp " + text + rng.choice(FILLERS)


def history(*, seed: int, half: int, start: datetime, days: int, per_day: int = 100) -> list[StormPost]:
    """``days`` of ordinary complaints before ``start``, in the wordings of every set but the day's
    own: a desk's week, saying every day's things in other words than the day's background does
    (with the day's own templates, an ordinary post always has near-twins in the history, and
    anything measured against the history looks better than it will on a real desk)."""
    own = LATER_SETS[half][id(BACKGROUND)] if half in LATER_SETS else BACKGROUND
    pools = [BACKGROUND, *(sets[id(BACKGROUND)] for sets in LATER_SETS.values())]
    pools = [pool for pool in pools if pool is not own]
    rng = random.Random(seed * 1009 + half)
    posts = []
    for n in range(days * per_day):
        at = start - timedelta(days=days) + timedelta(minutes=rng.uniform(0, days * 24 * 60))
        text = rng.choice(rng.choice(pools)).format(
            n=rng.randint(2, 40), item=rng.choice(ITEMS), city=rng.choice(CITIES), month=rng.choice(MONTHS)
        )
        posts.append(StormPost(f"hist{seed}_{n}", f"hist{seed}_{n}", "@AcmeHelp " + text, at, None, "x"))
    posts.sort(key=lambda p: (p.at, p.id))
    return posts


def day(
    *,
    seed: int = 2,
    half: int = 1,
    start: datetime,
    background: int = 700,
    login: int = 300,
    payment: int = 80,
    login_start: timedelta = timedelta(hours=10),
    payment_start: timedelta = timedelta(hours=10, minutes=25),
) -> list[StormPost]:
    """A day from ``start``: ``background`` ordinary complaints over 24 hours, ``login`` customers on
    one outage over about an hour and ``payment`` on another over about forty minutes, overlapping.
    Posts come sorted by their time; a few customers post twice about their outage."""
    rng = random.Random(seed)
    posts: list[StormPost] = []
    networks = ["x"] * 7 + ["bluesky"] * 2 + ["mastodon"]

    def add(topic: str | None, wordings: list[str], count: int, begin: timedelta, spread_minutes: float) -> None:
        for n in range(count):
            author = f"{topic or 'bg'}{seed}_{n}"
            network = rng.choice(networks)
            # Most of an outage's posts come early (a burst that decays), as reports pile up.
            minutes = rng.expovariate(3.0 / spread_minutes) if topic else rng.uniform(0, spread_minutes)
            at = start + begin + timedelta(minutes=min(minutes, spread_minutes * 3))
            posts.append(StormPost(f"{author}-1", author, _pick(rng, wordings, half), at, topic, network))
            if topic and rng.random() < 0.08:
                later = at + timedelta(minutes=rng.uniform(2, 20))
                posts.append(StormPost(f"{author}-2", author, _pick(rng, wordings, half), later, topic, network))

    add(None, BACKGROUND, background, timedelta(0), 24 * 60)
    add("login", LOGIN, login, login_start, 60)
    add("payment", PAYMENT, payment, payment_start, 40)
    posts.sort(key=lambda p: (p.at, p.id))
    return posts
