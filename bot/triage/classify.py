"""Triage: is a post a complaint, a question, praise, or something else — and how urgent is it?

VADER is one signal, not the verdict: complaints are often neutral in tone ("still waiting for my
refund" scores 0.0). The score adds VADER's negativity to complaint cues (waiting, repeat contact,
money, things broken, dissatisfaction, sarcasm) and subtracts praise and "all sorted" cues. The cues
live in ``cues.toml`` (English, plus the cues that read the same in any language) and
``cues_<lang>.toml`` (other languages) so a support lead can read and tune them without reading code.

Out of the box the rules decide alone. A model trained on the desk's own labels
(``bot/triage/learning.py``) can be handed in; its say grows with the number of labels behind it.

Three rules shape the decision, each because a cheaper rule lost real complaints:

- praise is praise only when nothing in the post is a complaint fact: "love how you lose my luggage
  every single time 😍" is a complaint, however warm its words (sarcasm);
- a post with an ask that is not a complaint is a ``question`` and gets a card of its own band, not
  ``other``: "can I bring my cat in the cabin?" needs an answer from someone;
- a post in a language triage cannot read is never dropped: it gets a card that says it needs a look
  and in which language.
"""

from __future__ import annotations

import functools
import math
import re
import string
import tomllib
import unicodedata
from dataclasses import dataclass, field
from itertools import compress, pairwise
from operator import itemgetter
from pathlib import Path
from re import _constants as sre_constants  # to read a pattern's required literals (see CueIndex)
from re import _parser as sre_parser
from typing import Any, Protocol

import ahocorasick
from vaderSentiment import vaderSentiment as vader
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.store.enums import Kind

CUES_FILE = Path(__file__).with_name("cues.toml")
_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|\bpic\.twitter\.com/\S+|\bwww\.\S+")
_SHOUT = re.compile(r"[A-Z](?<!\w[A-Z])[A-Z]{3,}(?!\w)")
"""Words of four capitals or more: ``\b[A-Z]{4,}\b``, written to start with a capital so the regex
engine skips to the capitals instead of trying every position of the post."""
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'"}
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"', "\uff1f": "?"})
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_ASCII_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
"""``_WORD`` for ASCII text (its letters are A-Z and a-z), without looking up Unicode categories."""
# X's codes that name no language: undetermined, media or hashtags only, no linguistic content.
_NO_LANGUAGE = {"und", "zxx", "qme", "qht", "qam", "qct", "qst", "art"}
# X's legacy codes, so the card shows the code people know.
_LEGACY_CODES = {"in": "id", "iw": "he", "ji": "yi"}
_VALUE = itemgetter(1)


@dataclass(frozen=True)
class Cue:
    group: str
    weight: float
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class CueGroup:
    """A group's patterns (``any_of``: all of them in one expression, for callers that want to
    search a group at once; triage itself searches through ``CueIndex``)."""

    name: str
    weight: float
    any_of: re.Pattern[str]
    cues: tuple[Cue, ...]


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    score: float
    compound: float
    pos: float
    neg: float
    neu: float
    signals: tuple[str, ...]
    language: str | None = None
    """The post's language (X's code when it gave one, else detected); None when nothing could tell."""
    needs_look: bool = False
    """Triage could not read the post (a language it has no cues for): a person must look, so it is
    carded whatever it says; the card should show the language."""
    probability: float | None = None
    """The blended complaint probability when a trained model took part, else None."""


def _recall_table() -> tuple[float, tuple[tuple[float, float], ...]]:
    recall = tomllib.loads(CUES_FILE.read_text(encoding="utf-8"))["recall"]
    return float(recall["default_target"]), tuple((float(t), float(th)) for t, th in recall["thresholds"])


DEFAULT_RECALL_TARGET, RECALL_THRESHOLDS = _recall_table()


def threshold_for_recall(target: float) -> float:
    """The rules' complaint threshold for a complaint recall of ``target`` (``[recall]`` in the cues):
    interpolated between the measured rows, the nearest row's outside them."""
    table = RECALL_THRESHOLDS
    if target <= table[0][0]:
        return table[0][1]
    for (low, at_low), (high, at_high) in pairwise(table):
        if target <= high:
            return round(at_low + (at_high - at_low) * (target - low) / (high - low), 3)
    return table[-1][1]


@dataclass(frozen=True)
class Thresholds:
    complaint: float = field(default_factory=lambda: threshold_for_recall(DEFAULT_RECALL_TARGET))
    """A post scoring this or more is a complaint: by default the threshold that keeps 80% of
    complaints (TRIAGE_RECALL_TARGET) — a team would rather see a few extra cards than miss one."""
    praise: float = 0.5


@dataclass(frozen=True, kw_only=True)
class Analysis:
    """What the rules saw in one post: the inputs of a verdict, and the features a trained model adds
    to its own (so training and run time compute them the same way, in one place)."""

    text: str
    """The post as the customer typed it: entities unescaped, quotes straightened, links and
    mentions kept (a model may learn from them)."""
    plain: str
    language: str
    readable: bool
    score: float
    compound: float
    pos: float
    neg: float
    neu: float
    groups: dict[str, float]
    signals: tuple[str, ...]
    facts: bool
    sarcasm: bool
    ask: bool
    spam: bool
    folded: str = ""
    """``plain`` folded (lower case, no accents): what the cues read, and a model's n-grams."""
    concern: bool = False
    """A complaint fact or a weaker sign that something is wrong: such a post is never praise."""
    kudos: bool = False
    """Thanks for a fix ("Lindsey sorted my problem"), or a problem said not to exist ("no complaints"),
    with nothing saying it goes on."""


class ComplaintModel(Protocol):
    """A trained model (``bot.triage.learning.LoadedModel``) as triage sees it."""

    threshold: float
    weight: float

    def complaint_probability(self, analysis: Analysis) -> float: ...


@dataclass
class CueSet:
    """One language's cue groups plus the language-independent ones, and its function words."""

    language: str
    index: CueIndex
    words: frozenset[str] = field(default_factory=frozenset)


def _load(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _cues_of(data: dict[str, Any], *, universal: bool | None = None) -> list[Cue]:
    return [
        Cue(entry["group"], float(entry["weight"]), re.compile(pattern))
        for entry in data.get("cue", [])
        if universal is None or bool(entry.get("universal", False)) is universal
        for pattern in entry["patterns"]
    ]


def load_cues(path: Path = CUES_FILE) -> tuple[dict[str, Any], list[Cue]]:
    data = _load(path)
    return data, _cues_of(data)


def group_cues(cues: list[Cue]) -> list[CueGroup]:
    by_group: dict[tuple[str, float], list[Cue]] = {}
    for cue in cues:
        by_group.setdefault((cue.group, cue.weight), []).append(cue)
    return [
        CueGroup(name, weight, re.compile("|".join(f"(?:{c.pattern.pattern})" for c in members)), tuple(members))
        for (name, weight), members in by_group.items()
    ]


def required_literals(pattern: str) -> list[frozenset[str]] | None:
    """Sets of strings such that every match of ``pattern`` contains one string of each set; None
    when no such set is found.

    Remembered per pattern: reading the cues' expressions was most of building a ``Triage`` (a
    quarter of a second), which every worker, retrain and test does again with the same cues.
    """
    found = _required_literals(pattern)
    return None if found is None else list(found)


@functools.lru_cache(maxsize=8192)
def _required_literals(pattern: str) -> tuple[frozenset[str], ...] | None:
    """What ``required_literals`` says, as an immutable value that can be shared.

    Read from the parsed expression. A run of pieces that can each consume only a few strings (a
    letter, an alternation of words, an optional ending, a word boundary, which consumes nothing)
    consumes one of their concatenations: ``(thanks|thx)( so much)? for`` gives "thanks for",
    "thx so much for"… — which few posts contain, where "thx" or " " alone would be in many. Of
    the other pieces, a group or a repeat of at least one is required when its body is, and an
    alternation when each branch is (the union of theirs). Each required part of the top-level
    sequence gives one set.
    """
    try:
        parsed = sre_parser.parse(pattern)
        if parsed.state.flags & sre_constants.SRE_FLAG_IGNORECASE:
            return None  # the automaton matches exact strings
        parts = _required_parts(parsed.data)
    except Exception:  # an expression this reading does not understand is simply always tried
        return None
    return tuple(parts) or None


_MAX_STRINGS = 64
"""The most strings a run of pieces may stand for (the automaton holds every one)."""
_EMPTY_ONLY = frozenset([""])


def _product(left: frozenset[str], right: frozenset[str]) -> frozenset[str] | None:
    if len(left) * len(right) > _MAX_STRINGS:
        return None
    return frozenset(x + y for x in left for y in right)


def _exact(items: Any) -> frozenset[str] | None:
    """Every string a sequence can consume, when they are few; None when they are not."""
    out: frozenset[str] | None = _EMPTY_ONLY
    for op, av in items:
        strings = _exact_piece(op, av)
        if strings is None or out is None:
            return None
        out = _product(out, strings)
    return out


def _exact_piece(op: Any, av: Any) -> frozenset[str] | None:
    c = sre_constants
    if op is c.LITERAL:
        return frozenset([chr(av)])
    if op is c.AT or op is c.ASSERT or op is c.ASSERT_NOT:
        return _EMPTY_ONLY  # a boundary or a look-around consumes nothing
    if op is c.IN and all(o is c.LITERAL for o, _ in av):
        return frozenset(chr(v) for _, v in av)
    if op is c.SUBPATTERN:
        if av[1] & c.SRE_FLAG_IGNORECASE:
            return None
        return _exact(av[-1].data)
    if op is c.BRANCH:
        branches = [_exact(b.data) for b in av[1]]
        if any(b is None for b in branches):
            return None
        union = frozenset().union(*(b for b in branches if b is not None))
        return union if len(union) <= _MAX_STRINGS else None
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[1] <= 3:
        body = _exact(av[2].data)
        if body is None:
            return None
        out: set[str] = set()
        power: frozenset[str] | None = _EMPTY_ONLY
        for times in range(av[1] + 1):
            if power is None:
                return None
            if times >= av[0]:
                out.update(power)
            power = _product(power, body)
        return frozenset(out) if len(out) <= _MAX_STRINGS else None
    return None


def _required_parts(items: Any) -> list[frozenset[str]]:
    c = sre_constants
    found: list[frozenset[str]] = []
    run = _EMPTY_ONLY  # the strings the current run of few-string pieces can consume

    def close() -> None:
        if "" not in run:  # a run that can consume nothing requires nothing
            # A post with "refunds" has "refund": the longer strings add nothing to look for.
            found.append(frozenset(x for x in run if not any(y != x and y in x for y in run)))

    for op, av in items:
        strings = _exact_piece(op, av)
        if strings is not None:
            joined = _product(run, strings)
            if joined is None:  # too many strings: the run so far is one part, this piece starts the next
                close()
                joined = strings
            run = joined
            continue
        close()
        run = _EMPTY_ONLY
        part: frozenset[str] | None = None
        if op is c.SUBPATTERN:
            part = None if av[1] & c.SRE_FLAG_IGNORECASE else _required(av[-1].data)
        elif op is c.BRANCH:
            branches = [_required(b.data) for b in av[1]]
            if all(b is not None for b in branches):
                part = frozenset().union(*(b for b in branches if b is not None))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            part = _required(av[2].data)
        if part:
            found.append(part)
    close()
    return found


def _required(items: Any) -> frozenset[str] | None:
    """The most selective required part of a sequence: the one whose shortest string is longest."""
    parts = _required_parts(items)
    if not parts:
        return None
    return max(parts, key=lambda lits: (min(len(x) for x in lits), -len(lits)))


def _common(part: frozenset[str]) -> bool:
    """Whether some literal of ``part`` is in nearly every post: a space, or a letter or two."""
    return any(len(x) < 3 and (x.isspace() or x.isalpha()) for x in part)


class CueIndex:
    """Runs only the cues a post can match.

    Python's regular expressions scan every position of the text for every cue, so a hundred cues
    cost hundreds of microseconds per post. Every cue needs some literal text to match ("refund",
    "still", "🙄"): one Aho–Corasick pass finds which of those literals the post contains, and only
    the cues whose literals are there (and the few with none) are searched. The verdict is exactly
    the one of searching every cue.
    """

    def __init__(self, groups: list[CueGroup]) -> None:
        self.groups = groups
        # Each cue: its group, its pattern, and the parts (sets of literal ids) still to check once
        # the literal it is indexed by was found; literals are numbered so a post's found set is a
        # set of small ints, cheap to build and intersect.
        self.cues: list[tuple[int, re.Pattern[str], tuple[frozenset[int], ...]]] = []
        self.always: list[int] = []
        literal_ids: dict[str, int] = {}
        indexed: list[list[int]] = []

        def ids(part: frozenset[str]) -> frozenset[int]:
            out = []
            for literal in part:
                if literal not in literal_ids:
                    literal_ids[literal] = len(indexed)
                    indexed.append([])
                out.append(literal_ids[literal])
            return frozenset(out)

        for g, group in enumerate(groups):
            for cue in group.cues:
                i = len(self.cues)
                parts = required_literals(cue.pattern.pattern)
                if parts is None:
                    self.cues.append((g, cue.pattern, ()))
                    self.always.append(i)
                    continue
                # Indexed by its most selective part; the other parts are checked before searching,
                # except those most posts contain anyway (a space, "a", "in"): looking for them in
                # every post cost more than the searches they saved.
                best = max(parts, key=lambda lits: (min(len(x) for x in lits), -len(lits)))
                others = tuple(ids(part) for part in parts if part is not best and not _common(part))
                for literal_id in ids(best):
                    indexed[literal_id].append(i)
                self.cues.append((g, cue.pattern, others))
        self.indexed: list[tuple[int, ...]] = [tuple(cues) for cues in indexed]
        self.always_set = frozenset(self.always)
        self.automaton = ahocorasick.Automaton()
        for literal, literal_id in literal_ids.items():
            self.automaton.add_word(literal, literal_id)
        self.empty = not literal_ids
        if not self.empty:
            self.automaton.make_automaton()

    def totals(self, folded: str) -> dict[str, float]:
        """Each group's weight times the number of its cues the text matches (at most two)."""
        present: set[int] = set() if self.empty else set(map(_VALUE, self.automaton.iter(folded)))
        candidates = self.always_set.union(*map(self.indexed.__getitem__, present)) if present else self.always_set
        hits: dict[int, int] = {}
        cues = self.cues
        for i in sorted(candidates):  # a group's cues in file order, as when every cue is searched
            g, pattern, others = cues[i]
            if others and any(map(present.isdisjoint, others)):
                continue  # a literal the cue needs is missing
            if hits.get(g, 0) >= 2:
                continue
            if pattern.search(folded):
                hits[g] = hits.get(g, 0) + 1
        totals: dict[str, float] = {}
        for g, n in hits.items():
            group = self.groups[g]
            totals[group.name] = totals.get(group.name, 0.0) + n * group.weight
        return totals


def _unescape(text: str) -> str:
    # X hands out HTML-escaped text (&amp;); cues and VADER should see what the customer typed.
    if "&" in text:
        for entity, char in _ENTITIES.items():
            text = text.replace(entity, char)
    return text if text.isascii() else text.translate(_QUOTES)


def normalise(text: str) -> str:
    """The text as cues and models see it: entities unescaped, curly quotes straightened (phones
    type ``don’t``, cues say ``don't``)."""
    return _unescape(text)


def fold(text: str) -> str:
    """Lower case without accents: customers type "todavia" as often as "todavía", so the cues are
    written without accents and matched against folded text."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ß", "ss")


def declared_language(code: str | None) -> str | None:
    """The language a network declared for a post (X's codes, BCP 47 elsewhere) reduced to the language
    ("pt-BR" → "pt"), None when it could not tell."""
    if not code:
        return None
    base = code.strip().lower().replace("_", "-").split("-", 1)[0]
    if not base or base in _NO_LANGUAGE:
        return None
    return _LEGACY_CODES.get(base, base)


class LanguageDetector:
    """Which language a post is in, cheaply for the common case.

    Most posts a brand receives are in its main language, and a handful of function words settle
    that in microseconds; only posts without them go to py3langid (a model shipped inside the
    package: nothing is downloaded) — and its answer is used only when it is confident, because a
    short English post misread as Dutch would become a needs-a-look card for nothing.
    """

    CANDIDATES = (
        "en", "es", "fr", "de", "pt", "it", "nl", "ja", "zh", "ko", "ru", "uk", "ar", "he", "tr", "pl",
        "sv", "da", "no", "fi", "id", "ms", "tl", "hi", "th", "vi", "el", "cs", "ro", "hu", "ca",
    )  # fmt: skip

    def __init__(self, words: dict[str, frozenset[str]], default: str = "en", confidence: float = 0.9) -> None:
        self.words = words
        self.default = default
        self.confidence = confidence
        self._identifier: Any = None

    def _langid(self) -> Any:
        if self._identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
            identifier.set_languages(list(self.CANDIDATES))
            self._identifier = identifier
        return self._identifier

    def detect(self, plain: str, folded: str) -> str:
        script = _script(plain)
        if script == "?":  # another script: whatever py3langid says, it is not the home language's
            return str(self._langid().classify(plain)[0])
        if script is not None:
            return script
        tokens = (_ASCII_WORD if folded.isascii() else _WORD).findall(folded)
        if not tokens:
            return self.default
        distinct = set(tokens)
        home_hits = len(distinct & self.words.get(self.default, frozenset()))
        if home_hits >= 2 and home_hits * 4 >= len(distinct):
            return self.default  # most posts: plainly in the home language, no need to count others
        hits = {lang: len(distinct & words) for lang, words in self.words.items()}
        best = max(hits, key=lambda lang: (hits[lang], lang == self.default))
        home = hits.get(self.default, 0)
        if home and home >= hits[best]:
            return self.default
        if plain.isascii() and hits[best] == 0:
            return self.default
        letters = sum(len(t) for t in tokens)
        if letters >= 12:
            lang, prob = self._langid().classify(plain)
            if prob >= self.confidence and (lang == best or hits[best] == 0 or lang not in self.words):
                return str(lang)
        if hits[best] >= 2 and hits[best] > home:
            return best
        return self.default


def _script(plain: str) -> str | None:
    """A language told by its script alone, for the scripts that name one language on X; "?" for
    another script than Latin; None for Latin script."""
    if plain.isascii():
        return None
    kana = hangul = han = other = latin = 0
    for ch in plain:
        o = ord(ch)
        if o < 0x250:
            if ch.isalpha():
                latin += 1
        elif 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xFF66 <= o <= 0xFF9F:
            kana += 1
        elif 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF:
            hangul += 1
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF:
            han += 1
        elif ch.isalpha():
            other += 1
    foreign = kana + hangul + han + other
    if foreign == 0 or foreign < latin:
        return None
    if kana:
        return "ja"
    if hangul:
        return "ko"
    if han:
        return "zh"
    return "?"  # Cyrillic, Arabic, Greek…: py3langid tells these apart


_NEUTRAL = {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": 0.0}
_EMPTY = {"neg": 0.0, "neu": 0.0, "pos": 0.0, "compound": 0.0}
_NEGATE = frozenset(vader.NEGATE)
_BOOSTERS = vader.BOOSTER_DICT
_SPECIAL = vader.SPECIAL_CASES
_PUNCTUATION = string.punctuation
_N = vader.N_SCALAR
_CAPS = vader.C_INCR


class Sentiment(SentimentIntensityAnalyzer):
    """VADER's scores (vaderSentiment 3.3.2), computed in one pass over words lowered once.

    VADER lowers every word again for each rule it applies (a hundred ``lower()`` calls for a tweet),
    rewrites the text one character at a time to replace emoji even when there is none, and runs
    its rule chain for words outside its lexicon, which only ever score 0. Here each word is split,
    stripped and lowered once, emoji are looked for with one set test, and only lexicon words go
    through the rules — the same rules, in the same order, with the same arithmetic, so the scores
    are VADER's to the last bit (tests hold them equal on the dev set and on thousands of made-up
    posts built from the words the rules turn on). The ``but`` rule is VADER's own method; the final
    scoring is VADER's with its loop over every word's score cut to the non-zero ones.
    """

    def __init__(self) -> None:
        super().__init__()
        self._emoji_chars = frozenset(e for e in self.emojis if len(e) == 1)
        self._ascii_emoji = any(e.isascii() for e in self._emoji_chars)
        self._lexicon_keys = self.lexicon.keys()

    def polarity_scores(self, text: str) -> dict[str, float]:
        if (self._ascii_emoji or not text.isascii()) and not self._emoji_chars.isdisjoint(text):
            text = self._describe_emoji(text)
        raw = text.split()
        # VADER's SentiText: punctuation stripped from either end, unless that leaves two characters
        # or fewer (":)" stays ":)").
        words = [w if len(w := token.strip(_PUNCTUATION)) > 2 else token for token in raw]
        lowered = [w.lower() for w in words]
        in_lexicon = list(map(self._lexicon_keys.__contains__, lowered))
        if not any(in_lexicon):
            # Every word scores 0: VADER's "but" rule halves and scales zeros, and its punctuation
            # emphasis applies only to a non-zero sum, so the result is all neutral.
            return dict(_NEUTRAL) if lowered else dict(_EMPTY)
        uppers = sum(map(str.isupper, words))
        is_cap_diff = 0 < uppers < len(words)
        last = len(lowered) - 1
        sentiments: list[float] = [0] * len(words)
        # Only lexicon words can score; the others keep VADER's 0.
        for i in compress(range(len(lowered)), in_lexicon):
            low = lowered[i]
            if low in _BOOSTERS or (low == "kind" and i < last and lowered[i + 1] == "of"):
                continue  # VADER scores these 0
            sentiments[i] = self._valence(i, words, lowered, is_cap_diff)
        if "but" in lowered:
            sentiments = self._but_check(words, sentiments)
        return self._scores(sentiments, text)

    def _scores(self, sentiments: list[float], text: str) -> dict[str, float]:
        """VADER's ``score_valence``, its sift over the words reading only the non-zero ones (a zero
        adds nothing to either sum; it counts as neutral)."""
        sum_s = float(sum(sentiments))
        # VADER's punctuation emphasis: up to four "!", and two or three "?" (more count as 0.96).
        ep_count = min(text.count("!"), 4)
        qm_count = text.count("?")
        qm_amplifier: float = 0
        if qm_count > 1:
            qm_amplifier = qm_count * 0.18 if qm_count <= 3 else 0.96
        punct_emph_amplifier = ep_count * 0.292 + qm_amplifier
        if sum_s > 0:
            sum_s += punct_emph_amplifier
        elif sum_s < 0:
            sum_s -= punct_emph_amplifier
        compound = vader.normalize(sum_s)
        pos_sum = neg_sum = 0.0
        scored = list(filter(None, sentiments))
        for score in scored:
            if score > 0:
                pos_sum += float(score) + 1  # compensates for neutral words that are counted as 1
            elif score < 0:
                neg_sum += float(score) - 1
        neu_count = len(sentiments) - len(scored)
        if pos_sum > math.fabs(neg_sum):
            pos_sum += punct_emph_amplifier
        elif pos_sum < math.fabs(neg_sum):
            neg_sum -= punct_emph_amplifier
        total = pos_sum + math.fabs(neg_sum) + neu_count
        return {
            "neg": round(math.fabs(neg_sum / total), 3),
            "neu": round(math.fabs(neu_count / total), 3),
            "pos": round(math.fabs(pos_sum / total), 3),
            "compound": round(compound, 4),
        }

    def _valence(self, i: int, words: list[str], low: list[str], is_cap_diff: bool) -> float:
        """VADER's ``sentiment_valence`` for the lexicon word at ``i``, with its checks (``no``, caps,
        boosters, negations, idioms, ``least``) reading the lowered words."""
        lexicon = self.lexicon
        valence = lexicon[low[i]]
        if low[i] == "no" and i != len(low) - 1 and low[i + 1] in lexicon:
            valence = 0.0  # "no" negates the next word instead of scoring itself
        if (
            (i > 0 and low[i - 1] == "no")
            or (i > 1 and low[i - 2] == "no")
            or (i > 2 and low[i - 3] == "no" and low[i - 1] in ("or", "nor"))
        ):
            valence = lexicon[low[i]] * _N
        if is_cap_diff and words[i].isupper():
            if valence > 0:
                valence += _CAPS
            else:
                valence -= _CAPS
        for start_i in range(3):
            j = i - (start_i + 1)
            if j < 0 or low[j] in lexicon:
                continue
            # vader.scalar_inc_dec: a booster or dampener before the word, stronger in capitals.
            s = 0.0
            if low[j] in _BOOSTERS:
                s = _BOOSTERS[low[j]]
                if valence < 0:
                    s *= -1
                if words[j].isupper() and is_cap_diff:
                    if valence > 0:
                        s += _CAPS
                    else:
                        s -= _CAPS
            if start_i == 1 and s != 0:
                s = s * 0.95
            if start_i == 2 and s != 0:
                s = s * 0.9
            valence = valence + s
            valence = self._negation(valence, low, start_i, i)
            if start_i == 2:
                valence = self._idioms(valence, low, i)
        # VADER's _least_check.
        if i > 1 and low[i - 1] not in lexicon and low[i - 1] == "least":
            if low[i - 2] != "at" and low[i - 2] != "very":
                valence = valence * _N
        elif i > 0 and low[i - 1] not in lexicon and low[i - 1] == "least":
            valence = valence * _N
        return valence

    @staticmethod
    def _negation(valence: float, low: list[str], start_i: int, i: int) -> float:
        """VADER's ``_negation_check`` on lowered words, its ``negated`` a set look-up."""
        before = low[i - (start_i + 1)]
        negated = before in _NEGATE or "n't" in before
        if start_i == 0:
            if negated:
                valence = valence * _N
        elif start_i == 1:
            if low[i - 2] == "never" and (low[i - 1] == "so" or low[i - 1] == "this"):
                valence = valence * 1.25
            elif low[i - 2] == "without" and low[i - 1] == "doubt":
                pass  # VADER's rule: "without doubt" is not a negation, the valence stands
            elif negated:
                valence = valence * _N
        elif start_i == 2:
            if (low[i - 3] == "never" and (low[i - 2] == "so" or low[i - 2] == "this")) or (
                low[i - 1] == "so" or low[i - 1] == "this"
            ):
                valence = valence * 1.25
            elif low[i - 3] == "without" and (low[i - 2] == "doubt" or low[i - 1] == "doubt"):
                pass  # as above: not a negation
            elif negated:
                valence = valence * _N
        return valence

    @staticmethod
    def _idioms(valence: float, low: list[str], i: int) -> float:
        """VADER's ``_special_idioms_check`` on lowered words (``i`` is at least 3 here)."""
        onezero = f"{low[i - 1]} {low[i]}"
        twoonezero = f"{low[i - 2]} {low[i - 1]} {low[i]}"
        twoone = f"{low[i - 2]} {low[i - 1]}"
        threetwoone = f"{low[i - 3]} {low[i - 2]} {low[i - 1]}"
        threetwo = f"{low[i - 3]} {low[i - 2]}"
        for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
            if seq in _SPECIAL:
                valence = _SPECIAL[seq]
                break
        if len(low) - 1 > i:
            zeroone = f"{low[i]} {low[i + 1]}"
            if zeroone in _SPECIAL:
                valence = _SPECIAL[zeroone]
        if len(low) - 1 > i + 1:
            zeroonetwo = f"{low[i]} {low[i + 1]} {low[i + 2]}"
            if zeroonetwo in _SPECIAL:
                valence = _SPECIAL[zeroonetwo]
        for n_gram in (threetwoone, threetwo, twoone):  # "kind of", "sort of", "just enough"
            if n_gram in _BOOSTERS:
                valence = valence + _BOOSTERS[n_gram]
        return valence

    def _describe_emoji(self, text: str) -> str:
        """VADER's emoji step: each emoji replaced by its description, set off by a space."""
        out: list[str] = []
        prev_space = True
        emojis = self.emojis
        for ch in text:
            if ch in emojis:
                if not prev_space:
                    out.append(" ")
                out.append(emojis[ch])
                prev_space = False
            else:
                out.append(ch)
                prev_space = ch == " "
        return "".join(out)


KUDOS_TONE = -0.3
"""Thanks for a fix may name the old problem ("fixed my broken router"), which VADER reads as a little
negative: such a post is praise unless its tone is clearly negative."""


class Triage:
    """Build once (it compiles the cues and loads VADER's lexicon), call ``classify`` per post."""

    def __init__(
        self,
        thresholds: Thresholds | None = None,
        cues_path: Path = CUES_FILE,
        *,
        model: ComplaintModel | None = None,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.model = model
        config, self.cues = load_cues(cues_path)
        self.groups = group_cues(self.cues)
        self.sentiment_cfg: dict[str, float] = config["sentiment"]
        self.structure_cfg: dict[str, float] = config["structure"]
        decision = config["decision"]
        self.fact_groups = frozenset(decision["facts"])
        self.concern_groups = self.fact_groups | frozenset(decision.get("concerns", ()))
        self.ask_groups = frozenset(decision["asks"])
        self.irony_groups = frozenset(decision["irony"])
        self.sarcasm_groups = frozenset(decision["sarcasm"])
        self.spam_groups = frozenset(decision["spam"])
        self.praise_groups = frozenset(decision["praise"])
        self.away_groups = frozenset(decision["away"])
        self.ongoing_groups = frozenset(decision.get("ongoing", ()))
        self.solved_groups = frozenset(decision.get("solved", decision["away"]))
        self.kudos_groups = frozenset(decision.get("kudos", ()))
        self.resolved_facts = float(decision.get("resolved_facts", 1.0))
        rewrite = config.get("rewrite", {})
        negated = "|".join(f"(?:{p})" for p in rewrite.get("negated_problems", ()))
        self.negated_problems = re.compile(negated) if negated else None
        self.negated_problems_any_case = re.compile(negated, re.IGNORECASE) if negated else None
        self.blend_slope = float(decision.get("cue_slope", 1.5))
        home = config["language"]["code"]
        universal = _cues_of(config, universal=True)
        self.cue_sets: dict[str, CueSet] = {
            home: CueSet(home, CueIndex(self.groups), frozenset(config["language"]["words"]))
        }
        for path in sorted(cues_path.parent.glob(f"{cues_path.stem}_*.toml")):
            data = _load(path)
            lang = data["language"]["code"]
            index = CueIndex(group_cues(_cues_of(data) + universal))
            self.cue_sets[lang] = CueSet(lang, index, frozenset(data["language"]["words"]))
        self.home = home
        self.detector = LanguageDetector({lang: s.words for lang, s in self.cue_sets.items()}, default=home)
        self.analyzer = Sentiment()

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages triage reads; a post in any other gets a needs-a-look card."""
        return tuple(self.cue_sets)

    def with_model(self, model: ComplaintModel | None) -> Triage:
        """The same rules with another model, without compiling the cues again (a retrained model
        replaces the old one while the bot runs)."""
        clone = object.__new__(Triage)
        clone.__dict__.update(self.__dict__)
        clone.model = model
        return clone

    def analyse(self, text: str, lang: str | None = None) -> Analysis:
        text = normalise(text)
        body = _URL.sub(" ", text) if ("http" in text or "www." in text or "pic." in text) else text
        plain = _MENTION.sub(" ", body) if "@" in body else body
        plain = " ".join(plain.split())  # "thanks @Acme for" reads "thanks for", as the cues expect
        folded = fold(plain)
        language = declared_language(lang) or self.detector.detect(plain, folded)
        cue_set = self.cue_sets.get(language)
        tone = plain
        if self.negated_problems_any_case is not None:
            tone = self.negated_problems_any_case.sub("fine", plain)  # VADER reads "no complaints" as negative
        vs = self.analyzer.polarity_scores(tone)
        compound = vs["compound"]
        if cue_set is None:
            return Analysis(
                text=text,
                plain=plain,
                language=language,
                readable=False,
                score=0.0,
                compound=compound,
                pos=vs["pos"],
                neg=vs["neg"],
                neu=vs["neu"],
                groups={},
                signals=(f"language {language}",),
                facts=False,
                sarcasm=False,
                ask="?" in plain or "¿" in plain,
                spam=False,
                folded=folded,
            )

        if self.negated_problems is not None:
            folded = self.negated_problems.sub(" nocomplaint ", folded)  # "no complaints": praise, not a complaint
        groups = cue_set.index.totals(folded)  # a group counts at most twice

        resolved = not self.away_groups.isdisjoint(groups)
        past = not self.solved_groups.isdisjoint(groups) and self.ongoing_groups.isdisjoint(groups)
        """A problem told as solved, with nothing saying it goes on: its facts are history."""
        facts = not self.fact_groups.isdisjoint(groups)
        concern = (facts or not self.concern_groups.isdisjoint(groups)) and not past
        # Praise words, "as always", 👏 beside a complaint fact are irony; on their own, or thanking
        # for a fix ("thanks for fixing my broken screen"), they are not.
        irony = concern and not resolved and not self.irony_groups.isdisjoint(groups)
        facts = facts and not past
        sarcasm = irony or not self.sarcasm_groups.isdisjoint(groups)
        spam = not self.spam_groups.isdisjoint(groups)
        signals: list[str] = []
        score = 0.0

        s = self.sentiment_cfg
        if compound <= s["negative_floor"]:
            # Bad moods are not complaints ("the Browns are the worst"); a bad mood about something
            # that went wrong is.
            factor = 1.0 if facts or sarcasm else s["negative_without_facts"]
            score += s["negative_weight"] * -compound * factor
            signals.append("negative tone")
        elif compound >= s["positive_floor"] and not sarcasm:
            # Polite complaints say please and thanks; their warmth must not cancel the facts.
            factor = s["positive_with_facts"] if facts else 1.0
            score += s["positive_weight"] * compound * factor
            signals.append("positive tone")

        for name, total in groups.items():
            if name in self.solved_groups and not past:
                continue  # "nobody fixed my boiler": a fix that did not happen subtracts nothing
            if past and name in self.concern_groups:
                total *= self.resolved_facts  # "my screen was broken but they fixed it"
            if name in self.praise_groups or name in self.away_groups:
                if sarcasm and name in self.praise_groups:
                    continue  # the praise is the sarcasm
                if facts and name in self.praise_groups:
                    total *= s["positive_with_facts"]
            elif name in self.irony_groups and not irony:
                continue
            score += total
            signals.append(name)
        if sarcasm and "sarcasm" not in signals:
            signals.append("sarcasm")

        st = self.structure_cfg
        question = "?" in plain or "¿" in plain
        if question and body.lstrip().startswith("@") and facts:
            score += st["question_to_brand"]
            signals.append("question to brand")
        extra = max(0, plain.count("!") - 1) + max(0, plain.count("?") - 1) + len(_SHOUT.findall(plain))
        if extra:
            score += min(st["intensifier_cap"], st["intensifier"] * extra)
            signals.append("intensifiers")
        ask = question or not self.ask_groups.isdisjoint(groups)
        if resolved and not facts:
            ask = ask and question
        return Analysis(
            text=text,
            plain=plain,
            language=language,
            readable=True,
            score=round(score, 3),
            compound=compound,
            pos=vs["pos"],
            neg=vs["neg"],
            neu=vs["neu"],
            groups=groups,
            signals=tuple(signals),
            facts=facts,
            sarcasm=sarcasm,
            ask=ask,
            spam=spam,
            folded=folded,
            concern=concern,
            kudos=not concern
            and not sarcasm
            and any(g in groups and (past or g not in self.solved_groups) for g in self.kudos_groups),
        )

    def classify(self, text: str, lang: str | None = None) -> Verdict:
        """``lang`` is X's language code when it gave one; otherwise the language is detected."""
        a = self.analyse(text, lang)
        if not a.readable:
            kind = Kind.QUESTION if a.ask else Kind.COMPLAINT
            return Verdict(
                kind, self.thresholds.complaint, a.compound, a.pos, a.neg, a.neu,
                (*a.signals, "needs a look"), a.language, True,
            )  # fmt: skip
        probability: float | None = None
        if self.model is not None:
            probability = self.blend(a)
            complaint = probability >= self.model.threshold
        else:
            complaint = a.score >= self.thresholds.complaint
        return Verdict(
            self._kind(a, complaint), a.score, a.compound, a.pos, a.neg, a.neu, a.signals, a.language,
            False, None if probability is None else round(probability, 4),
        )  # fmt: skip

    def cue_probability(self, score: float) -> float:
        """The rules' verdict as a probability: 0.5 at the complaint threshold, so that blending it
        with a model's keeps the rules' meaning of "borderline"."""
        return 1.0 / (1.0 + math.exp(-self.blend_slope * (score - self.thresholds.complaint)))

    def blend(self, a: Analysis) -> float:
        """The model's probability weighed against the rules' by how many labels the model saw: with
        few labels a model is noise, with thousands it knows the desk's customers better."""
        assert self.model is not None
        weight = self.model.weight
        prior = self.cue_probability(a.score)
        if weight <= 0.0:
            return prior
        return weight * self.model.complaint_probability(a) + (1.0 - weight) * prior

    def _kind(self, a: Analysis, complaint: bool) -> Kind:
        if complaint:
            return Kind.COMPLAINT
        if a.spam:
            return Kind.OTHER
        if a.ask:
            return Kind.QUESTION
        if a.kudos and a.compound >= KUDOS_TONE:
            return Kind.PRAISE  # thanks for a fix, "no complaints": kudos even in plain words
        if (
            not a.concern
            and not a.sarcasm
            and a.compound >= self.thresholds.praise
            and (any(a.groups.get(g, 0) < 0 for g in self.praise_groups) or a.compound >= self.thresholds.praise + 0.2)
        ):
            # Praise: clearly positive, with no complaint in it, and either says thanks/love/great
            # or is very positive.
            return Kind.PRAISE
        return Kind.OTHER


def priority(
    verdict_kind: str,
    score: float,
    *,
    followers: int,
    amplification_reach: int = 0,
    amplification_count: int = 0,
    repeat_contact: int = 0,
    verified: bool = False,
) -> int:
    """0–100: severity × reach, raised by repeat contact. Only complaints rank above 30.

    Reach is logarithmic: a customer with 1M followers is more urgent than one with 100, but not
    ten thousand times more. Repeat contact (the customer's earlier complaints) matters because the
    third complaint about the same thing is the one that becomes a thread. Questions have their own
    band, 11–30: below any complaint (someone waits for an answer, but nothing went wrong yet) and
    above praise and chatter (0–10), which get no card.
    """
    reach = min(1.0, math.log10(1 + followers + amplification_reach + 50 * amplification_count) / 7.0)
    if verdict_kind == Kind.QUESTION:
        return max(11, min(30, round(11 + 19 * reach)))
    if verdict_kind != Kind.COMPLAINT:
        return max(0, min(10, round(10 * reach)))
    severity = max(0.0, min(score, 6.0)) / 6.0
    repeat = min(repeat_contact, 3) / 3.0
    value = 30 + 70 * (0.45 * severity + 0.35 * reach + 0.20 * repeat) + (3 if verified else 0)
    return max(31, min(100, round(value)))
