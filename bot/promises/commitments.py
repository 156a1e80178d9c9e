"""Promises read from what the team says in public: "we'll call you back by 5pm tomorrow".

A sentence is a promise when it commits us (or something of ours) to a future act the customer will
see — a call, an email, a refund, a visit — or to one at a stated time. Statements of what was already
done ("I've credited £20"), requests ("please DM us your order number"), questions, offers that wait
on the customer ("if you DM us we'll…") and vague sympathy ("we're looking into it") are not.
The due time is read from the same sentence with the ``/promise`` rules (a window's far end: "between
8am and 1pm" is 13:00, "5–7 working days" is 7). Pure: no database, no Slack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from bot.promises import languages
from bot.promises.when import Calendar, Piece, normalise, pieces, resolve

_SUBJECT = (
    r"(?:we|i|(?:someone|somebody)(?:\s+from\s+(?:our\s+|the\s+)?[\w-]+(?:\s+team)?)?|"
    r"one\s+of\s+(?:us|our\s+\w+(?:\s+\w+)?)|"
    r"(?:(?:an?|the|our|your)\s+)?(?:[\w-]+\s+){0,3}?(?:engineer|technician|agent|specialist|manager|member|colleague|"
    r"courier|driver|team|tech|executive|officer|one|department|advisor|adviser|rep|representative|supervisor|fitter|installer|"
    r"refund|replacement|order|parcel|package|voucher|credit|delivery|item|card|label|compensation|money|payment|"
    r"reimbursement|booking|case|ticket|callback|call|email|response|reply|update|bag|luggage|fix|repair|"
    r"statement|invoice|code|bill|account|service|connection|appointment|visit|router|device|tickets|goodwill|"
    r"systems?|app|website|site|line|network|broadband|internet|power|signal|supply|wifi)"
    r"(?:\s+[a-z]+(?=\s+(?:will|should|shall|is|are)\b))?|"
    r"it|this|that|they|he|she|you)"
)
_ADV = r"(?:\s+(?:also|then|definitely|personally|now|still|just|certainly|all|both|hopefully|aim\s+to))?"
_MODAL = (
    r"(?:'ll|'re\s+sending|'re\s+arranging|'re\s+calling|'re\s+going\s+to|'m\s+going\s+to|'re\s+due\s+to|"
    r"'re\s+aiming\s+to|\s+(?:will|shall|should|are\s+going\s+to|is\s+going\s+to|am\s+going\s+to|aim\s+to|"
    r"are\s+aiming\s+to|is\s+aiming\s+to|promise\s+to|are\s+due\s+to|is\s+due\s+to|would\s+like\s+to|"
    r"are\s+arranging|are\s+sending|are\s+calling))"
)
_FUTURE = re.compile(rf"\b{_SUBJECT}{_ADV}{_MODAL}\b")
_OTHER_CUES = re.compile(
    r"\b(?:expect\s+(?:a|an|to|your|the|our|us|it|them|some|delivery|contact|payment)|"
    r"please\s+allow\s+(?:up\s+to\s+)?(?:\d+|a\s+(?:few|couple)|one|two|three|four|five|seven|ten)|"
    r"allow\s+(?:up\s+to\s+)?\d|keep\s+an\s+eye\s+(?:out|on)|look\s+out\s+for|watch\s+(?:out\s+for|your)|"
    r"(?:let\s+me|leave\s+it\s+with\s+(?:me|us))\b.*\b(?:get\s+back|come\s+back|update|let\s+you\s+know|"
    r"reply|call|email|dm|message)|"
    r"(?:i|we)(?:'ve|\s+have)\s+(?:booked|arranged|scheduled|set\s+up|organised|organized)|"
    r"(?:is|has\s+been|was|are|have\s+been)\s+(?:booked|arranged|scheduled)\s+(?:in\s+)?(?:for|on)|"
    r"(?:i|we)\s+promise|you\s+have\s+my\s+word|on\s+its\s+way\s+(?:to\s+you\s+)?(?:and|,)|"
    r"(?:is|are)\s+on\s+(?:its|their)\s+way)\b"
)
_ACTION = re.compile(
    r"\b(?:call|ring|phone|email|e-mail|dm|message|text|get\s+back|come\s+back|be\s+in\s+touch|reach\s+out|"
    r"contact|update|follow\s+up|send|post|ship|dispatch|deliver|refund|credit|reimburse|process|arrange|book|"
    r"visit|come\s+(?:out|round|over|to)|attend|arrive|fix|resolve|repair|replace|reply|respond|confirm|"
    r"let\s+you\s+know|hear|receive|get\s+(?:a|an|your|the|it|this|that|them)|be\s+(?:with|back|sent|"
    r"processed|credited|refunded|issued|dispatched|delivered|posted|emailed|in\s+your|restored|fixed|"
    r"resolved|live|back|reconnected|available|able\s+to)|reconnect|restore|pay|issue|chase|escalate|see\s+you|"
    r"collect|pick\s+up|install|swap|sort|waive|reverse|honou?r|land|appear|show)\w*"
)
_VAGUE_ONLY = re.compile(
    r"\b(?:look\s+into|looking\s+into|investigat|pass\s+(?:this|it|that|your)|feed\s*back|share|do\s+(?:our|my)\s+best|"
    r"try|keep\s+you\s+(?:posted|updated|informed|in\s+the\s+loop)|take\s+a\s+look|make\s+sure|note|raise|"
    r"bear\s+in\s+mind|be\s+in\s+touch\s+if|let\s+the\s+team\s+know)"
)
_NOT = re.compile(
    r"\b(?:won't|will\s+not|wont|can't|cannot|can\s+not|unable|'ll\s+never|will\s+never|not\s+be\s+able|"
    r"shouldn't|should\s+not|unfortunately\s+we\s+(?:can't|won't)|no\s+longer)\b"
)
_CONDITIONAL = re.compile(
    r"^(?:\W*)(?:if|once|when|as\s+soon\s+as|whenever|should|after)\s+(?:you|your|u)\b|"
    r"\b(?:if|once|when|as\s+soon\s+as|after)\s+(?:you|u)\s+(?:dm|send|message|reply|provide|confirm|give|drop|"
    r"follow|fill|share|let\s+us|get\s+in\s+touch|contact|pop|email|call|ring|return)|"
    r"\bif\s+(?:you'd|you\s+would|you\s+could|you\s+can)\b"
)
_STATE = re.compile(
    r"(?:will|'ll|are\s+going\s+to)\s+be\s+(?:closed|open|shut|down|offline|unavailable|busy|closing|opening)\b|"
    r"^\W*if\b(?!\s+we\b)|\b(?:will|should)\s+(?:show|appear|stay|remain)\s+as\b|\b(?:stay|remain)s?\s+until\b"
)
_YOU_NEEDS = re.compile(
    r"\byou(?:'ll|\s+will|\s+should|\s+may|\s+might)\s+(?:need|have\s+to|want|be\s+asked|be\s+able)\b"
)
_REPORTED = re.compile(r"\b(?:said|told\s+you|promised)\b.*\b(?:would|'d)\b")
_SENTENCE = re.compile(
    r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9@#£$€^])|(?<=[.!?])(?=[A-Z][a-z])|\n+|\s+[-–—]\s+|;\s+|\s*[🙂😊👍🙏💙❤️]\s*"
)
_LEADING = re.compile(r"^(?:hi|hey|hello|thanks|thank\s+you|sorry|ok|okay|sure|great)\b[^,.!]*[,.!]\s*", re.IGNORECASE)
_PERSON = (
    r"(?:we|i|(?:someone|somebody)(?:\s+from\s+(?:our\s+|the\s+)?[\w-]+(?:\s+team)?)?|one\s+of\s+us|they|he|she|"
    r"(?:our|the)\s+(?:[\w-]+\s+)?(?:team|department))"
)
"""The brand speaking, taken off the promise's text ("our team will email you" → "email you"); a
third party or a thing stays ("an engineer will visit", "your refund will follow")."""
_STRIP_SUBJECT = re.compile(rf"^.*?\b{_PERSON}{_ADV}{_MODAL}\s+(?:(?:also|then|definitely|personally|now)\s+)?")
_DANGLING = re.compile(r"\s+(?:by|on|at|before|until|within|in|for|from|between|no\s+later\s+than|the|and|,)\s*$")
_TEXT_MAX = 80


@dataclass(frozen=True)
class Commitment:
    text: str  # what is promised, short, e.g. "call you back", "email you"
    due: datetime | None  # UTC, None if no time could be read
    ask: str | None  # a question to put to the team when the reading is unsure, else None
    span: tuple[int, int]  # where in the reply it was found
    readings: tuple[datetime, ...] = ()  # the one or two candidate due times when ask is set


def find_commitments(
    text: str,
    *,
    now: datetime,
    tz: str,
    locale: str | None = None,
    workday_end: time | None = None,
    holidays: frozenset[date] = frozenset(),
) -> list[Commitment]:
    """Every promise in a brand reply, in order, at most one per sentence.

    ``locale`` (the writer's, e.g. ``en-US``) decides "12/5"; unknown, such a date is asked about.
    ``due`` is the best reading even when ``ask`` is set (so an untouched proposal can still be tracked);
    with ``ask`` set, ``readings`` holds the candidates. No time in the words: ``due`` None and an ``ask``.
    """
    norm = normalise(text)
    zone = ZoneInfo(tz)
    cal = Calendar(workday_end or time(17, 0), holidays)
    lang = languages.language_of(text, locale)
    if lang not in languages.CODES:
        return [_unreadable(text, lang)]
    found: list[Commitment] = []
    spans: list[tuple[int, int]] = []
    for s_start, s_end in _sentences(text):
        if lang != "en":
            if languages.is_promise(norm[s_start:s_end], lang, has_time=bool(pieces(text[s_start:s_end], lang))):
                spans.append((s_start, s_end))
            continue
        promised = False
        for start, end, shared in _clauses(norm, s_start, s_end):
            promised = is_promise(norm[start:end]) or (shared and promised)
            if promised:
                spans.append((start, end))
    for start, end in spans:
        times = pieces(text[start:end], lang)
        due = resolve(times, now=now, zone=zone, cal=cal, locale=locale) if times else None
        when: datetime | None = None
        ask: str | None = None
        readings: tuple[datetime, ...] = ()
        if due is not None and due.due is not None and not due.error:
            when = due.due.astimezone(UTC)
            if due.ask:
                ask = due.ask
                readings = tuple(r.astimezone(UTC) for r in due.readings)
        elif due is not None and due.error:
            ask = f"I read the time as {due.error} — when is it due?"
        else:
            ask = "No time was given — when is it due?"
        found.append(
            Commitment(
                text=_what(text[start:end], times) if lang == "en" else _what_foreign(text[start:end], times),
                due=when,
                ask=ask,
                span=(start, end),
                readings=readings,
            )
        )
    return found


def _unreadable(text: str, lang: str) -> Commitment:
    """A reply in a language the rules do not read: never "no promise" — the team is asked."""
    name = languages.NAMES.get(lang, lang)
    readable = ", ".join(languages.READABLE[:-1]) + " and " + languages.READABLE[-1]
    return Commitment(
        text=_short(" ".join(text.split())),
        due=None,
        ask=(
            f"I read promises in {readable}; this reply looks {name}. Does it promise something, and by when?"
            if lang != "other"
            else f"I read promises in {readable}; this reply is {name}. Does it promise something, and by when?"
        ),
        span=(0, len(text)),
    )


_FOREIGN_DANGLING = re.compile(
    r"(?:\s+(?:a\s+las?|a|à|avant|vers|antes\s+del?|antes\s+de\s+las|hasta|um|bis|gegen|vor|am|às|as|até|em|en|"
    r"dans|sous|innerhalb(?:\s+von)?|in|el|le|la|de|del|des|du|do|da|para|pour|für|et|y|e|und|,))+\s*$",
    re.IGNORECASE,
)


def _what_foreign(sentence: str, times: list[Piece]) -> str:
    """The sentence with its time words taken out (and the little words left hanging before them)."""
    chars = list(sentence)
    for p in times:
        for i in range(p.start, p.end):
            chars[i] = " "
    text = " ".join("".join(chars).split()).rstrip(" .!,;:")
    while (trimmed := _FOREIGN_DANGLING.sub("", text)) != text:
        text = trimmed
    text = re.sub(r"\s+(?:a\s+las|à|um|às|a)\s+(?=\w)", " ", text) if not times else text
    return _short(text)


def untimed(text: str, *, locale: str | None = None) -> list[str]:
    """The sentences of a reply that commit us to something without saying when ("we'll look into
    it", "someone will be in touch"): before the reply goes out, the sender is asked "by when?"."""
    lang = languages.language_of(text, locale)
    if lang not in languages.CODES:
        return []
    norm = normalise(text)
    out = []
    for start, end in _sentences(text):
        sentence = norm[start:end]
        if pieces(text[start:end], lang) or sentence.rstrip(" )").endswith("?"):
            continue
        if lang == "en":
            committed = bool(_FUTURE.search(sentence)) and not (
                _CONDITIONAL.search(sentence) or _STATE.search(sentence) or _NOT.search(sentence)
            )
        else:
            committed = languages.is_promise(sentence, lang, has_time=False)
        if committed:
            out.append(_short(" ".join(text[start:end].split())))
    return out


def is_promise(sentence: str) -> bool:
    s = normalise(sentence).strip()
    if not s or s.rstrip(" )🙂😊").endswith("?"):
        return False
    if (
        _STATE.search(s)
        or _CONDITIONAL.search(s)
        or _YOU_NEEDS.search(s)
        or _REPORTED.search(s)
        or re.search(r"\bby\s+now\b|\bnow\W*$", s)
    ):
        return False
    future = _FUTURE.search(s)
    other = _OTHER_CUES.search(s)
    if not future and not other:
        return False
    tail = s[(future or other).start() :]  # type: ignore[union-attr]
    if _NOT.search(tail[:60]):
        return False
    has_time = bool(pieces(tail))
    if other and not future:
        return True
    if future and re.match(r"\byou\b", tail) and not re.search(r"\b(?:receive|get|hear|see|have)\b", tail):
        return False
    after = _VAGUE_ONLY.sub(" ", tail[future.end() - future.start() :])  # type: ignore[union-attr]
    if _ACTION.search(after):
        return True
    return has_time


_JOIN_ANYWHERE = re.compile(r"(?:\s*,)?\s+(?:and|then|but|plus|while|whilst|&)(?:\s+then)?\s+|\s*[,;]\s+")
_THEN = re.compile(r"\b(?:afterwards|after\s+that|later|then|next)\b")
_VERB_AFTER_AND = re.compile(
    r"\s+and\s+(?:then\s+)?(?=(?:call|ring|phone|email|e-mail|send|post|refund|credit|arrange|book|visit|fix|"
    r"replace|update|collect|dispatch|ship|text|message|confirm|reply|get\s+back|follow\s+up|let\s+you\s+know|"
    r"pick\s+up|deliver|issue|reimburse|process)\b)"
)


def _clauses(norm: str, start: int, end: int) -> list[tuple[int, int, bool]]:
    """A sentence cut where a second commitment starts, so a reply with two promises gives two:
    "we'll email you today, and a courier will collect it on Thursday" (a new subject and its "will"),
    "we'll ring you at 11 and send the form afterwards" (one subject, two acts, each with its own time
    or a "then"). ``shared``: the clause borrows the previous one's subject ("send the form …")."""
    sentence = norm[start:end]
    cuts: list[tuple[int, int, bool]] = []  # (end of left part, start of right part, shared subject)
    subjects = list(_FUTURE.finditer(sentence))
    for m in subjects[1:]:
        # the last "and" / "," before the second "will" ("… today and a replacement will be …")
        lo = cuts[-1][1] if cuts else subjects[0].end()
        joins = [j for j in _JOIN_ANYWHERE.finditer(sentence, lo, m.end()) if j.start() > lo]
        if joins:
            cuts.append((joins[-1].start(), joins[-1].end(), False))
    if subjects:
        for m in _VERB_AFTER_AND.finditer(sentence, subjects[0].end()):
            if any(a <= m.start() < b for a, b, _ in cuts):
                continue
            left_from = max([b for _, b, _ in cuts if b <= m.start()], default=0)
            right_to = min([a for a, _, _ in cuts if a >= m.end()], default=len(sentence))
            left, right = sentence[left_from : m.start()], sentence[m.end() : right_to]
            if (pieces(left) and pieces(right)) or (pieces(left) and _THEN.search(right)):
                cuts.append((m.start(), m.end(), True))
    cuts.sort()
    out: list[tuple[int, int, bool]] = []
    pos, shared = 0, False
    for left_end, right_start, share in cuts:
        out.append((start + pos, start + left_end, shared))
        pos, shared = right_start, share
    out.append((start + pos, end, shared))
    return [(a, b, sh) for a, b, sh in out if b > a]


def _sentences(norm: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _SENTENCE.finditer(norm):
        if m.start() > pos:
            spans.append((pos, m.start()))
        pos = m.end()
    if pos < len(norm):
        spans.append((pos, len(norm)))
    out = []
    for a, b in spans:
        while a < b and norm[a] in " \t":
            a += 1
        while b > a and norm[b - 1] in " \t":
            b -= 1
        if b > a:
            out.append((a, b))
    return out


_ALLOW_FOR = re.compile(r"\ballow\s+(?:up\s+to\s+)?(?P<dur>.+?)\s+for\s+(?P<what>.+?)[\s.!]*$")


def _what(sentence: str, times: list) -> str:
    """The promise in a few words: the sentence after "we'll", with the time taken out — except where
    the time is the promise ("allow 5-7 working days for the refund to show" → "the refund to show
    within 5-7 working days")."""
    allow = _ALLOW_FOR.search(normalise(sentence))
    if allow and any(p.kind == "duration" and p.start < allow.end("dur") and p.end > allow.start("dur") for p in times):
        what, within = (
            sentence[allow.start("what") : allow.end("what")],
            sentence[allow.start("dur") : allow.end("dur")],
        )
        return _short(f"{what} within {within}")
    chars = list(sentence)
    for p in times:
        for i in range(p.start, p.end):
            chars[i] = " "
    text = " ".join("".join(chars).split())
    text = _LEADING.sub("", text)
    norm = normalise(text)
    m = _STRIP_SUBJECT.match(norm)
    if m and m.end() < len(text):
        text = text[m.end() :]
    text = re.split(r"(?<=\w)[.!]\s", text)[0].rstrip(" .!,;:")
    while True:
        trimmed = _DANGLING.sub("", text)
        if trimmed == text:
            break
        text = trimmed
    text = re.sub(r"\s+(?:by|on|at|before|within|in)\s+(?:and|,)\s+", " and ", text)
    text = re.sub(r"\s+(?:by|on|at|before|until)\s+(?=(?:and|then|,)\b)", " ", text)
    text = re.sub(r"\s+,", ",", text)
    return _short(text)


def _short(text: str) -> str:
    """At most ``_TEXT_MAX`` characters, cut at a word."""
    if len(text) > _TEXT_MAX:
        text = text[: _TEXT_MAX - 1].rsplit(" ", 1)[0] + "…"
    return text
