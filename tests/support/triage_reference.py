"""Triage as it decided before the speed work (main at 145e843), kept to prove that the fast paths
change no verdict and no score.

Written the plain way: VADER is vaderSentiment itself, every cue is searched (a group counts at most
twice), and a trained model is scored with the code that shipped then (its per-word cache and sums,
in the same order, so the floats are the same bit for bit). The cue files, thresholds and model
parameters are read from the production objects handed in: this file freezes the code, not the data.

Frozen on purpose: do not speed it up or "fix" it. If triage is meant to decide differently, change
the tests that say so, not this file.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from itertools import chain, pairwise
from operator import mul
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.triage.classify import KUDOS_TONE, Kind, Triage, Verdict
from bot.triage.learning import LoadedModel, char_features_of_word

_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|\bpic\.twitter\.com/\S+|\bwww\.\S+")
_SHOUT = re.compile(r"\b[A-Z]{4,}\b")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'"}
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"', "\uff1f": "?"})
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[!?]+|[^\w\s]", re.UNICODE)
_TF = [0.0] + [1.0 + math.log(n) for n in range(1, 256)]


def _normalise(text: str) -> str:
    if "&" in text:
        for entity, char in _ENTITIES.items():
            text = text.replace(entity, char)
    return text if text.isascii() else text.translate(_QUOTES)


def _fold(text: str) -> str:
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ß", "ss")


def _script(plain: str) -> str | None:
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
    return "?"


class ReferenceTriage:
    """``Triage.classify`` and ``analyse`` as they were; ``triage`` supplies the cues and settings."""

    def __init__(self, triage: Triage, model: LoadedModel | None = None) -> None:
        self.t = triage
        self.model = model
        self.vader = SentimentIntensityAnalyzer()
        self.pieces: dict[str, tuple[float, int, list[str]]] = {}

    def detect(self, plain: str, folded: str) -> str:
        d = self.t.detector
        script = _script(plain)
        if script == "?":
            return str(d._langid().classify(plain)[0])
        if script is not None:
            return script
        tokens = _WORD.findall(folded)
        if not tokens:
            return d.default
        distinct = set(tokens)
        home_hits = len(distinct & d.words.get(d.default, frozenset()))
        if home_hits >= 2 and home_hits * 4 >= len(distinct):
            return d.default
        hits = {lang: len(distinct & words) for lang, words in d.words.items()}
        best = max(hits, key=lambda lang: (hits[lang], lang == d.default))
        home = hits.get(d.default, 0)
        if home and home >= hits[best]:
            return d.default
        if plain.isascii() and hits[best] == 0:
            return d.default
        letters = sum(len(t) for t in tokens)
        if letters >= 12:
            lang, prob = d._langid().classify(plain)
            if prob >= d.confidence and (lang == best or hits[best] == 0 or lang not in d.words):
                return str(lang)
        if hits[best] >= 2 and hits[best] > home:
            return best
        return d.default

    def cue_totals(self, language: str, folded: str) -> dict[str, float]:
        totals: dict[str, float] = {}
        for group in self.t.cue_sets[language].index.groups:
            hits = sum(1 for cue in group.cues if cue.pattern.search(folded))
            if hits:
                totals[group.name] = totals.get(group.name, 0.0) + min(hits, 2) * group.weight
        return totals

    def analyse(self, text: str, lang: str | None = None) -> dict[str, Any]:
        t = self.t
        text = _normalise(text)
        body = _URL.sub(" ", text) if ("http" in text or "www." in text or "pic." in text) else text
        plain = _MENTION.sub(" ", body) if "@" in body else body
        plain = " ".join(plain.split())
        folded = _fold(plain)
        from bot.triage.classify import declared_language

        language = declared_language(lang) or self.detect(plain, folded)
        # Problems said not to exist ("no complaints"): VADER reads the phrase as "fine", the cues
        # as the word "nocomplaint" (searched with every pattern, no shortcut).
        negated = t.negated_problems_any_case
        vs = self.vader.polarity_scores(negated.sub("fine", plain) if negated is not None else plain)
        compound = vs["compound"]
        base = {"text": text, "plain": plain, "folded": folded, "language": language, "compound": compound,
                "pos": vs["pos"], "neg": vs["neg"], "neu": vs["neu"]}  # fmt: skip
        if language not in t.cue_sets:
            return base | {
                "readable": False, "score": 0.0, "groups": {}, "signals": (f"language {language}",), "facts": False,
                "sarcasm": False, "ask": "?" in plain or "¿" in plain, "spam": False, "concern": False,
            }  # fmt: skip
        if t.negated_problems is not None:
            folded = t.negated_problems.sub(" nocomplaint ", folded)
            base["folded"] = folded
        groups = self.cue_totals(language, folded)
        past = any(g in groups for g in t.solved_groups) and not any(g in groups for g in t.ongoing_groups)
        facts = any(g in groups for g in t.fact_groups)
        concern = (facts or any(g in groups for g in t.concern_groups)) and not past
        resolved = any(g in groups for g in t.away_groups)
        irony = concern and not resolved and any(g in groups for g in t.irony_groups)
        facts = facts and not past
        sarcasm = irony or any(g in groups for g in t.sarcasm_groups)
        spam = any(g in groups for g in t.spam_groups)
        signals: list[str] = []
        score = 0.0
        s = t.sentiment_cfg
        if compound <= s["negative_floor"]:
            factor = 1.0 if facts or sarcasm else s["negative_without_facts"]
            score += s["negative_weight"] * -compound * factor
            signals.append("negative tone")
        elif compound >= s["positive_floor"] and not sarcasm:
            factor = s["positive_with_facts"] if facts else 1.0
            score += s["positive_weight"] * compound * factor
            signals.append("positive tone")
        for name, total in groups.items():
            if name in t.solved_groups and not past:
                continue
            if past and name in t.concern_groups:
                total *= t.resolved_facts
            if name in t.praise_groups or name in t.away_groups:
                if sarcasm and name in t.praise_groups:
                    continue
                if facts and name in t.praise_groups:
                    total *= s["positive_with_facts"]
            elif name in t.irony_groups and not irony:
                continue
            score += total
            signals.append(name)
        if sarcasm and "sarcasm" not in signals:
            signals.append("sarcasm")
        st = t.structure_cfg
        question = "?" in plain or "¿" in plain
        if question and body.lstrip().startswith("@") and facts:
            score += st["question_to_brand"]
            signals.append("question to brand")
        extra = max(0, plain.count("!") - 1) + max(0, plain.count("?") - 1) + len(_SHOUT.findall(plain))
        if extra:
            score += min(st["intensifier_cap"], st["intensifier"] * extra)
            signals.append("intensifiers")
        ask = question or any(g in groups for g in t.ask_groups)
        if resolved and not facts:
            ask = ask and question
        return base | {
            "readable": True, "score": round(score, 3), "groups": groups, "signals": tuple(signals), "facts": facts,
            "sarcasm": sarcasm, "ask": ask, "spam": spam, "concern": concern,
            "kudos": not concern
            and not sarcasm
            and any(g in groups and (past or g not in t.solved_groups) for g in t.kudos_groups),
        }  # fmt: skip

    def decision(self, a: dict[str, Any]) -> float:
        """``LoadedModel.decision`` as it shipped: its per-word cache and its sums, in its order."""
        m = self.model
        assert m is not None
        split = a["folded"].split()
        pieces = self.pieces
        for piece in split:
            if piece not in pieces:
                found = char_features_of_word(piece)
                pieces[piece] = (sum(m.char_weights.get(g, 0.0) for g in found), len(found), _TOKEN.findall(piece))
        if split:
            char_scores, char_counts, token_lists = zip(*map(pieces.__getitem__, split), strict=True)
            char = sum(char_scores) / math.sqrt(max(1, sum(char_counts)))
            tokens = list(chain.from_iterable(token_lists))
        else:
            char, tokens = 0.0, []
        weighted, idf2 = m._word_weighted, m._word_idf2
        known = weighted.__contains__
        found = [*filter(known, tokens), *filter(known, map(" ".join, pairwise(tokens)))]
        if not found:
            words = 0.0
        elif len(set(found)) == len(found):
            norm2 = sum(map(idf2.__getitem__, found))
            words = sum(map(weighted.__getitem__, found)) / math.sqrt(norm2) if norm2 > 0.0 else 0.0
        else:
            counts = Counter(found)
            if max(counts.values()) >= len(_TF):
                tf = [1.0 + math.log(n) for n in counts.values()]
            else:
                tf = list(map(_TF.__getitem__, counts.values()))
            norm2 = sum(map(mul, map(mul, tf, tf), map(idf2.__getitem__, counts)))
            dot = sum(map(mul, tf, map(weighted.__getitem__, counts)))
            words = dot / math.sqrt(norm2) if norm2 > 0.0 else 0.0
        z = m.intercept + words + char
        text = a["text"]
        dense = [
            a["score"], a["compound"], a["pos"], a["neg"], a["neu"], float(a["facts"]), float(a["sarcasm"]),
            float(a["ask"]), float(a["readable"]), float("http" in text or "www." in text), float("@" in text),
        ]  # fmt: skip
        return z + sum(map(mul, dense, m._dense_weights)) - m._dense_offset

    def probability(self, a: dict[str, Any]) -> float:
        """``Triage.blend``: the model's probability weighed against the rules'."""
        t, m = self.t, self.model
        assert m is not None
        prior = 1.0 / (1.0 + math.exp(-t.blend_slope * (a["score"] - t.thresholds.complaint)))
        if m.weight <= 0.0:
            return prior
        z = self.decision(a)
        if z >= 0:
            p = 1.0 / (1.0 + math.exp(-z))
        else:
            e = math.exp(z)
            p = e / (1.0 + e)
        return m.weight * p + (1.0 - m.weight) * prior

    def classify(self, text: str, lang: str | None = None) -> Verdict:
        t = self.t
        a = self.analyse(text, lang)
        if not a["readable"]:
            kind = Kind.QUESTION if a["ask"] else Kind.COMPLAINT
            return Verdict(
                kind, t.thresholds.complaint, a["compound"], a["pos"], a["neg"], a["neu"],
                (*a["signals"], "needs a look"), a["language"], True,
            )  # fmt: skip
        probability: float | None = None
        if self.model is not None:
            probability = self.probability(a)
            complaint = probability >= self.model.threshold
        else:
            complaint = a["score"] >= t.thresholds.complaint
        return Verdict(
            self._kind(a, complaint), a["score"], a["compound"], a["pos"], a["neg"], a["neu"], a["signals"],
            a["language"], False, None if probability is None else round(probability, 4),
        )  # fmt: skip

    def _kind(self, a: dict[str, Any], complaint: bool) -> Kind:
        t = self.t
        if complaint:
            return Kind.COMPLAINT
        if a["spam"]:
            return Kind.OTHER
        if a["ask"]:
            return Kind.QUESTION
        if a.get("kudos") and a["compound"] >= KUDOS_TONE:
            return Kind.PRAISE
        if (
            not a["concern"]
            and not a["sarcasm"]
            and a["compound"] >= t.thresholds.praise
            and (any(a["groups"].get(g, 0) < 0 for g in t.praise_groups) or a["compound"] >= t.thresholds.praise + 0.2)
        ):
            return Kind.PRAISE
        return Kind.OTHER
