"""What many posts are about: posts grouped by the words they share, with no network or database.

An outage is told in many wordings ("can't log in", "login page just spins", "sign-in broken
again?"): exact-text folding (``bot.intake.posts.text_key``) sees three posts, a person sees one
topic. Here a post is the set of its telling words — lower-cased, links, mentions and small words
dropped, a light stemmer, and a few spellings of one act made one ("log in", "sign-in", "logon"
→ ``login``) — and a topic is the count of each word over its posts. A post belongs to the topic
whose counts point the way its words do (cosine of the post's words against the topic's counts):
one shared word that most of the topic uses ("login") weighs more than two a few of its posts use.

Grouping is greedy in time order, then every post is placed again against the grown topics (the
first posts of a storm meet a topic of one or two posts; placed again they meet the whole of it),
and topics whose counts point the same way are merged. Deterministic: the same posts in the same
order give the same topics, whatever batches they arrived in.

One outage is also told in words that share nothing ("it won't let me in", "the 2FA code never
comes", "kicked out again"): a post that states a failure in any of the ways listed in
``_CONCEPTS`` carries the failure's word, and weighs it twice (``STATED``).

Why not a learned embedding here: the grouping runs on every ingest batch in a few milliseconds
(``bench/incidents.py`` prints it), and a sentence model takes ~7 ms a post; as an automatic join it
also took in 1.3% of ordinary complaints. It *suggests* instead, from the worker (``suggest.py``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

JOIN = 0.42
"""A post joins a topic when the cosine of its words with the topic's counts reaches this."""
MERGE = 0.6
"""Two topics whose counts have this cosine are one topic told two ways."""
CORE = 0.7
"""Two topics whose posts mostly use one same word ("login" in 90% of each) are one topic too."""
COVER = 0.5
"""A post joins a grown topic only if at least half its words are the topic's own: "I logged in to
track my parcel, still late" shares "login" with the login outage and is about a parcel."""
COVER_SHARE = 0.02
"""A word is the topic's own when at least this share of its posts (and two of them) use it."""
OWN_LIFT = 2.0
"""A word ordinary complaints use is a topic's own only if its posts use it this many times more
often (see ``Profile._owns``)."""
GROWN = 10
"""From this many posts a topic's words say what it is about (and ``COVER`` applies)."""
MIN_TELLING = 0.15
"""A topic's telling words are used by at least this share of its posts."""

_LINK = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"(?<!\w)@[\w.\-]+")
_ONE_ACT = [
    (
        re.compile(r"\b(?:log(?:ging|ged|s)?|sign(?:ing|ed|s)?)(?:[\s\-]?(?:back[\s\-])?(?:in|on|into|onto))\b"),
        " login ",
    ),
    (re.compile(r"\b(?:log(?:ging|ged|s)?|sign(?:ing|ed|s)?)[\s\-]?out\b"), " logout "),
    (re.compile(r"\bpass[\s\-]?words?\b"), " password "),
    (re.compile(r"\b(?:e[\s\-]?mails?)\b"), " email "),
    (re.compile(r"\bwi[\s\-]?fi\b"), " wifi "),
    (re.compile(r"\bcheck[\s\-]?out\b"), " checkout "),
    (re.compile(r"\b(?:pay(?:ing|ed|s)?|paid)\b"), " payment "),
]
_NOT = r"(?:can'?t|cannot|can not|won'?t|wont|will not|doesn'?t|does not|didn'?t|did not|isn'?t|not|never|unable to)"
_CONCEPTS: list[tuple[str, re.Pattern[str]]] = [
    (
        "login",
        re.compile(
            r"\blet(?:ting|s)?\s+(?:me|us)\s+(?:back\s+)?(?:in|into|on|access)\b"
            r"|\bget(?:ting)?\s+(?:back\s+)?(?:in|into|in\s+to|onto)\s+(?:my|our|the|me|their|your)?\s*(?:acc?ount|acc|acct|profile|app)s?\b"
            r"|\b" + _NOT + r"\s+get\s+(?:back\s+)?in\b"
            r"|\block(?:ed|ing|s)?\s+(?:me\s+|us\s+)?out\b"
            r"|\b(?:kick|boot|throw|chuck)(?:ed|ing|s)?\s+(?:me\s+|us\s+)?(?:out|off)\b|\bthrown\s+(?:me\s+)?out\b"
            r"|\blogout\b"
            r"|\b" + _NOT + r"\s+(?:\S+\s+)?login\b"
            r"|\blogin\s+(?:page\s+|screen\s+|button\s+)?(?:is\s+|keeps\s+)?(?:fail\w*|error\w*|broken|loop\w*|down|not\s+work\w*)"
            r"|\b(?:get\s+past|stuck\s+(?:at|on))\s+(?:the\s+)?login\b"
            r"|\b(?:after|when)\s+(?:i\s+)?(?:hit|click|press|tap)\w*\s+(?:the\s+)?login\b"
            r"|\b(?:typ|enter|put)\w*\s+(?:in\s+)?my\s+(?:login\s+)?(?:details|credentials|email\s+and\s+password)\b"
            r"|\b(?:face|touch)\s*id\b|\bauth\b|\buser\s+not\s+found\b"
            r"|\b(?:kick|boot|throw|send|dump|bounc)\w*\s+(?:me\s+|us\s+)?back\s+to\s+(?:the\s+)?login\b"
            r"|\b(?:account|profile|login)\s+page\s+(?:\S+\s+)?(?:won'?t|doesn'?t|does\s+not|not|never)\s+load"
            r"|\bsessions?\s+(?:has\s+|have\s+)?(?:expir\w*|timed?\s*out|ended)\b"
            r"|\b(?:2fa|mfa|otp|two[\s\-]?factor|(?:2|two)[\s\-]?step|one[\s\-]?time\s+(?:code|pass\w*|pin))\b"
            r"|\b(?:verification|security|sms|login|auth\w*|access)\s+(?:code|link|text|pin)s?\b"
            r"|\b(?:authenticat\w*|credentials|unauthori[sz]ed|usernames?)\b"
            r"|\b(?:access|acces|acess)\w*\s+(?:to\s+)?(?:my|our|the|your)?\s*(?:account|acc|acct|profile)s?\b"
            r"|\b(?:account|acc|acct|profile)s?\s+(?:locked|access|inaccessible)\b"
            r"|\b" + _NOT + r"\s+(?:verify|recogni[sz]e)\s+(?:me|you|my|it)\b"
            r"|\b(?:couldn'?t|could not)\s+(?:verify|recogni[sz]e)\s+(?:me|you|my)\b"
            r"|\b(?:details|credentials)\s+(?:are\s+|were\s+)?(?:wrong|incorrect|invalid|not\s+recogni[sz]ed)\b"
            r"|\bcontinue\s+with\s+(?:google|apple|facebook)\b"
            r"|\b(?:wrong|incorrect|invalid)\s+password\b"
            r"|\b(?:forgot|forgotten|reset)\s+(?:my\s+|the\s+)?password\b"
            r"(?!\s+(?:last|back|in\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|yesterday|a\s+(?:few|couple)|\d|ages|weeks|months))"
            r"|\bpassword\s+(?:is\s+|was\s+)?(?:wrong|incorrect|invalid|not\s+(?:work|recogni[sz]|accept)\w*|rejected)"
            r"|\b(?:account|acc|acct|profile)\s+(?:doesn'?t|does\s+not|no\s+longer)\s+exists?\b"
            # The fourth round (from the tenth set): what the screen does instead of letting them in.
            r"|\bno\s+(?:such\s+)?account\s+(?:exists?|found|registered|with)\b"
            r"|\b(?:account|email|username)\s+(?:not\s+found|not\s+recogni[sz]ed|unrecogni[sz]ed)\b"
            r"|\b(?:couldn'?t|could\s+not|can'?t|cannot|unable\s+to|fail\w*\s+to)\s+verify\b"
            r"|\bverify\s+(?:your|my)\s+identity\b"
            r"|(?<!promo )(?<!discount )(?<!voucher )(?<!offer )"
            r"\bcodes?\s+(?:from|in|by)\s+(?:the\s+|your\s+)?(?:text|sms|app)\b"
            r"|\b(?:text|sms)\s+codes?\b|\bcodes?\b[^.!?]{0,40}?\bexpired?\s+(?:straight\s+away|immediately|instantly|at\s+once)\b"
            r"|\bsessions?\s+(?:is\s+)?invalid\b|\binvalid\s+session\b|\breset\s+links?\b"
            r"|\b(?:my\s+)?(?:account|profile)\b[^.!?]{0,40}?\b(?:blank|white)\s+(?:white\s+)?(?:page|screen)\b"
            r"|\b(?:bounc|kick|send|sent|throw|take|took|dump)\w*\s+(?:me\s+|us\s+)?back\s+to\b[^.!?]{0,40}?"
            r"\b(?:email|password|details|start|beginning|first\s+(?:page|screen))\b"
            r"|\b(?:put|typ\w*|enter\w*)\s+(?:in\s+)?my\s+(?:email|password|details|username)\b[^.!?]{0,40}?"
            r"\b(?:spin\w*|nothing|blank|loop\w*|back\s+to|error\w*|freez\w*|hang\w*|forever)\b"
        ),
    ),
    (
        "payment",
        re.compile(
            r"\bcheckout\b|\bdeclin(?:e|ed|es|ing)\b"
            r"|\b(?:paypal|klarna|clearpay|afterpay|laybuy|3d[\s\-]?secure|3ds|transactions?|billing)\b"
            r"|(?<!gift )\b(?:card|visa|mastercard|amex|debit|credit)\b(?:\s+\S+){0,3}?"
            r"\s+(?:rejected|refused|denied|failed|fails|failing|bounced)\b"
            r"|\b" + _NOT + r"\s+(?:\S+\s+)?payment\b|\bpayment\s+(?:fail\w*|error\w*|declin\w*|broken|not\s+work\w*)"
            r"|\b(?:order|basket|cart|purchase|payment)\s+(?:\S+\s+){0,2}?" + _NOT + r"\s+go(?:es|ing)?\s+through\b"
            r"|\b" + _NOT + r"\s+go(?:es|ing)?\s+through\b"
            r"|\b(?:place|placing|complete|completing)\s+(?:my\s+|an\s+|the\s+|this\s+)?(?:order|purchase|payment)\b"
            r"|\b" + _NOT + r"\s+(?:buy|purchase|order)\s+(?:anything|it|this|them|my)\b"
            r"|\b(?:basket|cart)\b"
            r"|(?:\b(?:money|charged|charge|payment)\b|£\s?\d|\bleft\s+my\s+(?:account|bank)\b)(?:[^.!?]|\.\d){0,60}?"
            r"\b(?:no|without|but\s+no|never\s+got\s+an?)\s+(?:order|confirmation)"
            r"|\b(?:take|took|taken|taking)\s+(?:my|the)\s+money\b"
            r"|\b(?:at|on)\s+the\s+(?:final|last)\s+(?:step|stage)\b(?!\s+of)|\bcard\s+verification\b"
            r"|\b(?:unable\s+to|couldn'?t|could\s+not|can'?t|cannot)\s+process\b"
            r"|\b(?:purchase|order|payment)\s+(?:\S+\s+)?fail(?:s|ed|ing)?\b(?!\s+to\b)"
            r"|\b(?:couldn'?t|could\s+not|unable\s+to|can'?t|cannot)\s+(?:complete|process|take|finish)\s+(?:your\s+|my\s+|the\s+|this\s+)?(?:purchase|order|payment)\b"
            r"|\bstuck\s+on\s+(?:the\s+)?(?:processing|payment|checkout)\b"
            r"|\bpending\s+(?:charge|payment|transaction)s?\b"
            r"|\b(?:card|visa|mastercard|amex|paypal)\b[^.!?]{0,30}?\bworks?\s+(?:everywhere|fine|elsewhere)\b"
        ),
    ),
]
"""What an outage's customers mean, however they word it: "it won't let me in", "kicked out again",
"the 2FA code never comes" and "can't log in" are one failure that shares no word. A post that
says one of these gets the failure's word too (``login``, ``payment``) beside its own words, so
the topic's counts and its telling words are the failure's. Written from how customers tell
outages in general and grown, in four rounds, from the wording sets of ``bench/incidents.py``
already looked at; each round measured once on a set nobody had looked at (the seventh, eighth,
ninth, eleventh: docs/reliability.md#incidents). A list, not a sentence model: about 65 us an
outage post, and a person can read why a post was placed. Each pattern states a failure; a mere mention
("logged in to track my parcel") must not match."""
STATED = "!"
"""Marks, among a post's words, a failure it states in so many words (``STATED + "login"``): not a
word of its own — never counted in a topic or the background — but the failure's word weighs
``STATED_WEIGHT`` in the post's similarity. "Bank keeps refusing the transaction but they say
nothing is blocked on their end" has six words, one of which the payment outage's posts share;
unweighted its cosine stays under ``JOIN``. A mere mention ("logged in to track my parcel") is
not marked."""
STATED_WEIGHT = 2.0


def plain(words: Iterable[str]) -> list[str]:
    """A post's words without the marks of ``STATED``."""
    return [w for w in words if w[0] != STATED]


def _weights(words: frozenset[str]) -> dict[str, float]:
    """Each of a post's words with its weight: a stated failure's word counts ``STATED_WEIGHT`` times
    — in the similarity and in the share of its words that are the topic's own alike ("checkout
    broken?" is a payment failure even where everyday complaints say "checkout" too)."""
    weights = dict.fromkeys(words, 1.0)
    for word in words:
        if word[0] == STATED:
            del weights[word]
            weights[word[1:]] = STATED_WEIGHT
    return weights


_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_STOPWORDS = """
    a about above after again against all am an and any are aren't as at be because been before being below
    between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
    few for from further had hadn't has hasn't have haven't having he her here hers herself him himself his how
    i i'm i've i'd i'll if in into is isn't it it's its itself just let's me more most my myself no nor not of
    off on once only or other ought our ours ourselves out over own same she should shouldn't so some such than
    that that's the their theirs them themselves then there there's these they they're this those through to too
    under until up very was wasn't we we're we've were weren't what what's when where which while who whom why
    will with won't would wouldn't you you're you've your yours yourself yourselves im ive id ill dont doesnt
    didnt cant wont isnt arent wasnt werent havent hasnt couldnt wouldnt shouldnt u ur pls plz please thanks
    thank hi hello hey guys lol omg wtf ok okay yes yeah via amp rt still again anyone anybody someone somebody
    everyone everything anything something nothing get got gets getting go going gone keep keeps kept make makes
    made want wants need needs know knew say says said tell told try tried trying use using used work works
    working worked today now right time times day days hour hours minute minutes week morning tonight yesterday
    since ago even also really actually literally just like one two three also well back way much many lot help
    support service customer team company brand app website site page
    broken problem problems issue issues terrible awful worst bad poor joke ridiculous useless fix sort
    annoying annoyed seriously ugh wrong ever never always
"""
STOPWORDS = frozenset(_STOPWORDS.split())
"""Words that say nothing about what broke. "app", "website" and "service" are here on purpose: a
login outage and a payment outage are both "the app", and would merge on it; so are the words of
any complaint ("broken", "worst", "issue"): fifteen customers with fifteen broken things are not
one outage."""


def _stem(word: str) -> str:
    """A light stemmer: enough that "crashes", "crashed" and "crashing" are one word. Porter's
    rules buy little on posts this short, and a library would be one more dependency for it."""
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ied"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 4 and word.endswith("es") and (word[-3] in "sxz" or word[-4:-2] in ("ch", "sh")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def terms(text: str) -> frozenset[str]:
    """A post's telling words (see the module's docstring)."""
    lowered = _MENTION.sub(" ", _LINK.sub(" ", text)).lower().replace("\u2019", "'")
    for pattern, replacement in _ONE_ACT:
        lowered = pattern.sub(replacement, lowered)
    stated = {word for word, pattern in _CONCEPTS if pattern.search(lowered)}
    out = stated | {STATED + word for word in stated}
    for word in _WORD.findall(lowered):
        if word in STOPWORDS or word.isdigit() or len(word) < 3:
            continue
        stem = _stem(word.replace("'", ""))
        if stem not in STOPWORDS and len(stem) >= 3:
            out.add(stem)
    return frozenset(out)


@dataclass
class Profile:
    """A topic's word counts over its posts, with the norm kept up to date for cosines."""

    counts: Counter[str] = field(default_factory=Counter)
    size: int = 0
    _square: int = 0

    @classmethod
    def of(cls, counts: Mapping[str, int], size: int) -> Profile:
        profile = cls(Counter({t: int(c) for t, c in counts.items() if int(c) > 0}), size)
        profile._square = sum(c * c for c in profile.counts.values())
        return profile

    def add(self, words: Iterable[str]) -> None:
        for word in words:
            if word[0] == STATED:  # a mark, not a word
                continue
            before = self.counts[word]
            self.counts[word] = before + 1
            self._square += 2 * before + 1
        self.size += 1

    def remove(self, words: Iterable[str]) -> None:
        for word in plain(words):  # rare: a post edited or released
            before = self.counts[word]
            if before <= 1:
                self.counts.pop(word, None)
            else:
                self.counts[word] = before - 1
            self._square -= 2 * before - 1
        self.size -= 1

    def become(self, other: Profile) -> None:
        """Take ``other``'s counts, in place (callers hold this object)."""
        self.counts, self.size, self._square = other.counts, other.size, other._square

    @property
    def norm(self) -> float:
        return math.sqrt(self._square)

    def similarity(self, words: frozenset[str]) -> float:
        """Cosine of a post's words (each counted once) with these counts."""
        if not words or not self._square:
            return 0.0
        counts = self.counts
        dot, square = 0.0, 0.0
        for word in words:
            if word[0] == STATED:  # the word itself adds 1 (below); its mark adds the rest of its weight
                extra = STATED_WEIGHT - 1.0
                dot += extra * counts.get(word[1:], 0)
                square += STATED_WEIGHT * STATED_WEIGHT - 1.0
            else:
                dot += counts.get(word, 0)
                square += 1.0
        return dot / (math.sqrt(square) * self.norm) if square else 0.0

    def covers(self, words: frozenset[str]) -> float:
        """The share of a post's words that are this topic's own (see ``COVER_SHARE``)."""
        weights = _weights(words)
        if not weights:
            return 0.0
        floor = max(2, COVER_SHARE * self.size)
        return sum(wt for w, wt in weights.items() if self.counts.get(w, 0) >= floor) / sum(weights.values())

    def fits(
        self, words: frozenset[str], join: float = JOIN, background: Background | None = None, *, own: bool = False
    ) -> bool:
        """Whether a post belongs to this topic: its words point the topic's way, and — once the
        topic has grown — are mostly the topic's own. With what the ordinary complaints say
        (``background``), only words that belong elsewhere count against it: "parcel" and "late"
        are an ordinary complaint's words, "laptop" is nobody's in particular. ``own``: the post is
        counted in these counts already — its words are not the topic's own by its own say (two
        "signed in to check my bill" posts caught in a login storm vouched for each other); with no
        background yet, a desk's first day, the plainer rule below keeps them as they are."""
        if self.similarity(words) < join:
            return False
        if background is not None and background.size:
            weights = _weights(words)
            foreign = sum(
                wt for w, wt in weights.items() if background.common(w) and not self._owns(w, background, own)
            )
            return foreign < COVER * sum(weights.values())
        return self.size < GROWN or self.covers(words) >= COVER

    def _owns(self, word: str, background: Background, own: bool = False) -> bool:
        """Whether a word ordinary complaints use is this topic's own all the same: used by enough
        of its posts, and by a far larger share of them than of ordinary complaints ("error" in
        half a login outage's posts). Four "logged in to track my parcel" posts in a login storm of
        sixteen do not make "parcel" the outage's word: a parcel is every day's."""
        count = self.counts.get(word, 0) - own
        if count < max(2, COVER_SHARE * self.size):
            return False
        share = count / max(self.size - own, 1)
        # A word half its posts use is the topic's, however common: a desk whose every day is
        # login complaints still has login outages.
        return share >= 0.5 or share >= OWN_LIFT * background.counts.get(word, 0) / background.size

    def foreign(self, other: Profile, background: Background) -> float:
        """The share of ``other``'s word uses on words that are not this topic's own and that
        ordinary complaints use: ``fits`` for a group of posts ("logged in to track my parcel",
        told by six customers, is a parcel complaint beside a login outage)."""
        total = sum(other.counts.values())
        if not total:
            return 0.0
        return sum(c for w, c in other.counts.items() if background.common(w) and not self._owns(w, background)) / total

    def cosine(self, other: Profile) -> float:
        if not self._square or not other._square:
            return 0.0
        small, large = (self, other) if len(self.counts) <= len(other.counts) else (other, self)
        dot = sum(c * large.counts.get(w, 0) for w, c in small.counts.items())
        return dot / (self.norm * other.norm)

    def top(self, limit: int = 50) -> dict[str, int]:
        """The counts worth storing: an incident's profile is kept as its most used words."""
        return dict(sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])

    def telling(self, background: Profile | Background | None = None, limit: int = 4) -> list[str]:
        """The few words that name the topic: used by many of its posts, more than by the rest."""
        if not self.size:
            return []
        scored = []
        for word, count in self.counts.items():
            share = count / self.size
            if share < MIN_TELLING:
                continue
            outside = background.counts.get(word, 0) / background.size if background and background.size else 0.0
            scored.append((share - outside, count, word))
        scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
        return [word for _, _, word in scored[:limit]]


@dataclass
class Background:
    """How many ordinary complaints use each word (each counted once): what is said every day."""

    counts: Counter[str] = field(default_factory=Counter)
    size: int = 0

    def add(self, words: Iterable[str]) -> None:
        self.counts.update(set(plain(words)))
        self.size += 1

    def common(self, word: str) -> bool:
        """A word ordinary complaints use: in two of them at least, and one in two hundred."""
        return self.counts.get(word, 0) >= max(2, self.size / 200)


@dataclass(frozen=True)
class Item:
    """One post to group: whatever the caller keys it by, who posted it, when, and its words."""

    key: int
    author: str
    at: datetime
    words: frozenset[str]


@dataclass
class Topic:
    items: list[Item] = field(default_factory=list)
    profile: Profile = field(default_factory=Profile)

    def _in_window(self, window: timedelta) -> Iterator[tuple[Item, int]]:
        """Each post in time order, with how many distinct customers posted within ``window`` up to it."""
        ordered = sorted(self.items, key=lambda i: (i.at, i.key))
        start = 0
        counts: Counter[str] = Counter()
        for item in ordered:
            counts[item.author] += 1
            while ordered[start].at < item.at - window:
                gone = ordered[start].author
                counts[gone] -= 1
                if not counts[gone]:
                    del counts[gone]
                start += 1
            yield item, len(counts)

    def authors_within(self, window: timedelta) -> tuple[int, Item | None]:
        """The most distinct customers who posted on the topic within any ``window`` of post
        times, and the post that reached that count first."""
        best, at_best = 0, None
        for item, count in self._in_window(window):
            if count > best:
                best, at_best = count, item
        return best, at_best

    def threshold_item(self, window: timedelta, authors: int) -> Item | None:
        """The post with which ``authors`` distinct customers had posted within ``window`` (the
        threshold post: its time is the incident's start for the report's time to detect)."""
        return next((item for item, count in self._in_window(window) if count >= authors), None)


def _core(profile: Profile) -> set[str]:
    return {w for w, c in profile.counts.items() if c >= CORE * profile.size}


def overlap(a: Profile, b: Profile) -> float:
    """The share of ``b``'s word uses that fall on words ``a`` uses itself (in one post in twenty):
    how much of what ``b``'s posts say ``a``'s posts say too."""
    total = sum(b.counts.values())
    if not total or not a.size:
        return 0.0
    floor = max(2, a.size / 20)
    return sum(c for w, c in b.counts.items() if a.counts.get(w, 0) >= floor) / total


def same_topic(a: Profile, b: Profile, merge: float = MERGE) -> bool:
    """Whether two topics are one told two ways: their counts point the same way, or most posts of
    each use one same word (each wording of an outage has "login" in it, and little else shared)."""
    if a.size < 3 or b.size < 3:
        return a.size >= 3 and a.cosine(b) >= merge
    return a.cosine(b) >= merge or bool(_core(a) & _core(b))


def group(
    items: Sequence[Item], *, join: float = JOIN, merge: float = MERGE, background: Background | None = None
) -> list[Topic]:
    """Topics of ``items`` (see the module's docstring); posts with no telling word stay alone.
    ``background``: what ordinary complaints say, so that a post's own extra words ("on my phone
    and laptop") do not keep it out of its topic, only words that belong to another subject."""
    ordered = sorted(items, key=lambda i: (i.at, i.key))
    topics: list[Topic] = []
    by_word: dict[str, list[int]] = {}

    def best_for(words: frozenset[str], among: Iterable[int]) -> tuple[int | None, float]:
        best, score = None, 0.0
        for index in among:
            s = topics[index].profile.similarity(words)
            if s > score or (s == score and best is not None and index < best):
                best, score = index, s
        return best, score

    # 1. greedy, in time order: each post joins the closest topic it reaches, or starts one.
    for item in ordered:
        if not item.words:
            continue
        near = {i for w in item.words for i in by_word.get(w, ())}
        index, score = best_for(item.words, sorted(near))
        if index is None or score < join:
            index = len(topics)
            topics.append(Topic())
        topics[index].items.append(item)
        topics[index].profile.add(item.words)
        for w in item.words:
            indexes = by_word.setdefault(w, [])
            if not indexes or indexes[-1] != index:
                indexes.append(index)

    # 2. merge topics told two ways (largest first, so the big topic absorbs its variants).
    order = sorted(range(len(topics)), key=lambda i: (-topics[i].profile.size, i))
    merged: list[Topic] = []
    for index in order:
        topic = topics[index]
        into = next((m for m in merged if same_topic(m.profile, topic.profile, merge)), None)
        if into is None:
            merged.append(topic)
            continue
        into.items.extend(topic.items)
        for item in topic.items:
            into.profile.add(item.words)

    # 3. every post placed again against the grown topics (of three posts or more).
    grown = [t for t in merged if t.profile.size >= 3]
    if not grown:
        return merged
    final = [Topic(profile=Profile.of(t.profile.counts, t.profile.size)) for t in grown]
    alone: list[Topic] = []
    for topic in merged:
        for item in topic.items:
            scores = [(t.profile.similarity(item.words), -i) for i, t in enumerate(grown)]
            score, minus_index = max(scores)
            best = grown[-minus_index]
            if score >= join and best.profile.fits(item.words, join, background, own=best is topic):
                final[-minus_index].items.append(item)
            else:
                alone.append(Topic([item], Profile.of(Counter(dict.fromkeys(item.words, 1)), 1)))
    for topic in final:
        topic.profile = Profile()
        for item in topic.items:
            topic.profile.add(item.words)
    return [t for t in final if t.items] + alone
