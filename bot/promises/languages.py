"""Due times and promises in the other languages the desk reads: Spanish, French, German, Portuguese.

Why these four: triage already reads complaints in them (``bot/triage/cues_*.toml``), so a team that
answers in them gets its promises kept too. Each language's words map onto the same pieces the
English reader finds (a day, a clock time, a duration, a part of the day), so the rules that combine
pieces into a deadline are one set. A reply in a language none of these covers is never read as
"no promise": the caller asks the team (``READABLE`` names the languages in that question).

Spans index the normalised text (``when.normalise``: lower case, every character in its place).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

READABLE = ("English", "Spanish", "French", "German", "Portuguese")
CODES = ("en", "es", "fr", "de", "pt")

_NUMBERS = {
    "es": {"un": 1, "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7,
           "ocho": 8, "diez": 10, "quince": 15},
    "fr": {"un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
           "dix": 10, "quinze": 15},
    "de": {"ein": 1, "eine": 1, "einem": 1, "einer": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
           "sieben": 7, "acht": 8, "zehn": 10, "vierzehn": 14},
    "pt": {"um": 1, "uma": 1, "dois": 2, "duas": 2, "três": 3, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6,
           "sete": 7, "oito": 8, "dez": 10, "quinze": 15},
}  # fmt: skip

_UNITS = {
    "es": {"días hábiles": "working days", "dias habiles": "working days", "días laborables": "working days",
           "días": "days", "dias": "days", "día": "days", "horas": "hours", "hora": "hours", "minutos": "minutes",
           "semanas": "weeks", "semana": "weeks", "meses": "months", "mes": "months"},
    "fr": {"jours ouvrés": "working days", "jours ouvrables": "working days", "jours": "days", "jour": "days",
           "heures": "hours", "heure": "hours", "minutes": "minutes", "semaines": "weeks", "semaine": "weeks",
           "mois": "months"},
    "de": {"werktagen": "working days", "werktage": "working days", "arbeitstagen": "working days",
           "arbeitstage": "working days", "tagen": "days", "tage": "days", "tag": "days", "stunden": "hours",
           "stunde": "hours", "minuten": "minutes", "wochen": "weeks", "woche": "weeks", "monaten": "months",
           "monat": "months"},
    "pt": {"dias úteis": "working days", "dias uteis": "working days", "dias": "days", "dia": "days",
           "horas": "hours", "hora": "hours", "minutos": "minutes", "semanas": "weeks", "semana": "weeks",
           "meses": "months", "mês": "months", "mes": "months"},
}  # fmt: skip

_LEADS = {
    "es": r"en(?:\s+un\s+plazo\s+de|\s+menos\s+de)?|dentro\s+de|antes\s+de",
    "fr": r"dans(?:\s+un\s+délai\s+de|\s+les)?|sous(?:\s+un\s+délai\s+de)?|d'ici|en\s+moins\s+de",
    "de": r"in(?:nerhalb(?:\s+von)?)?|binnen|spätestens\s+in",
    "pt": r"em(?:\s+até)?|dentro\s+de|no\s+prazo\s+de|até",
}

_DAYS = {
    "es": {"hoy": "today", "esta noche": "tonight", "pasado mañana": "after", "mañana": "tomorrow"},
    "fr": {"aujourd'hui": "today", "ce soir": "tonight", "après-demain": "after", "demain": "tomorrow"},
    "de": {"heute abend": "tonight", "heute": "today", "übermorgen": "after", "morgen": "tomorrow"},
    "pt": {"hoje à noite": "tonight", "hoje": "today", "depois de amanhã": "after", "amanhã": "tomorrow"},
}
# Where the word for "tomorrow" is also "morning" ("por la mañana", "am Morgen", "guten Morgen").
_NOT_TOMORROW = {"es": r"(?<!la )(?<!esta )(?<!de )", "de": r"(?<!am )(?<!guten )(?<!jeden )", "fr": "", "pt": ""}

_WEEKDAYS = {
    "es": ("lunes", "martes", "miércoles|miercoles", "jueves", "viernes", "sábado|sabado", "domingo"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "de": ("montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag"),
    "pt": ("segunda(?:-feira)?", "terça(?:-feira)?|terca(?:-feira)?", "quarta(?:-feira)?", "quinta(?:-feira)?",
           "sexta(?:-feira)?", "sábado|sabado", "domingo"),
}  # fmt: skip

_CLOCKS = {
    "es": r"(?:a|antes\s+de|hasta|sobre|desde)\s+las?\s+(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?:\s*(?:h|hs|horas)\b)?",
    "fr": r"(?:(?:à|a|avant|vers|pour|dès)\s+)?(?P<h>\d{1,2})\s*h\s*(?P<m>\d{2})?(?![\w])",
    "de": r"(?:(?:um|bis|gegen|vor|ab)\s+(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?(?:\s*uhr)?|"
    r"(?P<h2>\d{1,2})(?:[:.](?P<m2>\d{2}))?\s*uhr)(?![\w])",
    "pt": r"(?:às|as|até\s+(?:às|as)|antes\s+das|por\s+volta\s+das|a\s+partir\s+das)\s+(?P<h>\d{1,2})"
    r"(?:[:h](?P<m>\d{2}))?(?:\s*h(?:oras)?)?(?![\w])",
}
_BARE_PM = {"es": True, "fr": False, "de": False, "pt": True}
"""Whether "at 3" means 15:00 as on an English desk; French and German write the 24-hour clock."""

_PARTS = {
    "es": {"por la mañana": "morning", "esta mañana": "morning", "de la mañana": "morning",
           "por la tarde": "afternoon", "esta tarde": "afternoon", "de la tarde": "afternoon",
           "a primera hora": "first"},
    "fr": {"matin": "morning", "dans la matinée": "morning", "après-midi": "afternoon", "en début de journée": "first"},
    "de": {"früh": "morning", "vormittag": "morning", "nachmittag": "afternoon", "abend": "evening"},
    "pt": {"de manhã": "morning", "pela manhã": "morning", "à tarde": "afternoon", "de tarde": "afternoon",
           "à noite": "evening"},
}  # fmt: skip

_END_OF_DAY = {
    "es": r"(?:al\s+)?final\s+del\s+día|fin\s+del\s+día|antes\s+de\s+que\s+(?:acabe|termine)\s+el\s+día",
    "fr": r"(?:en\s+|d'ici\s+(?:la\s+)?)?fin\s+de\s+(?:la\s+)?journée",
    "de": r"(?:bis\s+)?(?:zum\s+)?(?:ende\s+des\s+tages|tagesende|feierabend)",
    "pt": r"(?:até\s+o\s+)?(?:final|fim)\s+do\s+dia",
}
_END_OF_WEEK = {
    "es": r"(?:a\s+)?finales\s+de\s+(?:esta\s+)?semana|fin\s+de\s+semana",
    "fr": r"(?:d'ici\s+la\s+)?fin\s+de\s+(?:la\s+)?semaine",
    "de": r"(?:bis\s+)?(?:zum\s+)?(?:ende\s+der\s+woche|wochenende)",
    "pt": r"(?:até\s+o\s+)?(?:final|fim)\s+da\s+semana",
}


@dataclass(frozen=True)
class Found:
    kind: str
    start: int
    end: int
    value: object


def _words(table: dict[str, str]) -> str:
    return "|".join(sorted((re.escape(w).replace(r"\ ", r"\s+") for w in table), key=len, reverse=True))


def _compiled(lang: str) -> list[tuple[str, re.Pattern[str]]]:
    nums = _words({k: "" for k in _NUMBERS[lang]})
    units = _words(_UNITS[lang])
    return [
        (
            "duration",
            re.compile(
                rf"(?<![\w])(?P<lead>{_LEADS[lang]})\s+(?P<n1>\d+|{nums})(?:\s*(?:-|a|à|bis|e|ou|o)\s*(?P<n2>\d+))?"
                rf"\s+(?P<unit>{units})(?![\w])"
            ),
        ),
        ("day", re.compile(rf"(?<![\w]){_NOT_TOMORROW[lang]}(?P<rel>{_words(_DAYS[lang])})(?![\w])")),
        (
            "weekday",
            re.compile(
                r"(?<![\w])(?:" + "|".join(f"(?P<wd{i}>{w})" for i, w in enumerate(_WEEKDAYS[lang])) + r")(?![\w])"
            ),
        ),
        ("clock", re.compile(rf"(?<![\w:.]){_CLOCKS[lang]}")),
        ("part", re.compile(rf"(?<![\w])(?P<part>{_words(_PARTS[lang])})(?![\w])")),
        ("eod", re.compile(rf"(?<![\w])(?:{_END_OF_DAY[lang]})(?![\w])")),
        ("eow", re.compile(rf"(?<![\w])(?:{_END_OF_WEEK[lang]})(?![\w])")),
    ]


_PATTERNS = {lang: _compiled(lang) for lang in _NUMBERS}


def time_words(norm: str, lang: str) -> Iterator[Found]:
    """The day, clock, duration and part-of-day words of ``lang`` in ``norm``, as the English reader's
    kinds and values (a duration's unit in English: "working days", "hours" …)."""
    for kind, pattern in _PATTERNS.get(lang, ()):
        for m in pattern.finditer(norm):
            found = _read(kind, m, lang)
            if found is not None:
                yield found


def _read(kind: str, m: re.Match[str], lang: str) -> Found | None:
    if kind == "duration":
        n1 = _number(m["n1"], lang)
        n2 = _number(m["n2"], lang) if m["n2"] else None
        unit = _UNITS[lang][" ".join(m["unit"].split())]
        return Found("duration", m.start(), m.end(), (max(n1, n2 or 0), unit))
    if kind == "day":
        return Found("day", m.start(), m.end(), ("rel", _DAYS[lang][" ".join(m["rel"].split())]))
    if kind == "weekday":
        index = next(i for i in range(7) if m[f"wd{i}"])
        return Found("day", m.start(), m.end(), ("wd", index))
    if kind == "clock":
        groups = m.groupdict()
        h, mins = groups.get("h") or groups.get("h2"), groups.get("m") or groups.get("m2")
        if h is None:
            return None
        hour, minute = int(h), int(mins or 0)
        if _BARE_PM[lang] and 1 <= hour <= 6 and not mins:
            hour += 12
        if hour > 23 or minute > 59:
            return None
        return Found("clock", m.start(), m.end(), (hour, minute))
    if kind == "part":
        return Found("part", m.start(), m.end(), _PARTS[lang][" ".join(m["part"].split())])
    return Found(kind, m.start(), m.end(), 0 if kind == "eow" else None)


def _number(word: str, lang: str) -> float:
    return float(word) if word.isdigit() else float(_NUMBERS[lang][word])


# -- which language a reply is in -------------------------------------------------------------------

_COMMON = {
    "en": "the you your we will we'll i'll to for and be is our it this with have has please thanks sorry",
    "es": "el la los las te le les su sus usted nosotros vamos por para con que una del muy gracias lo sentimos "
    "enviaremos llamaremos pronto hoy mañana",
    "fr": "le la les vous votre nous est pour avec une des du merci désolé sommes allons demain aujourd'hui "
    "très ce cette",
    "de": "der die das sie ihr ihre ihnen wir ist und mit für eine einen den dem danke bitte morgen heute "
    "werden wird uhr",
    "pt": "o a os as você vocês seu sua nós vamos para com uma do da obrigado obrigada desculpe amanhã hoje muito não",
    "it": "il lo gli ci vi sarà saremo grazie domani oggi della delle nostro vostro siamo perché",
    "nl": "de het een wij jullie u uw morgen vandaag bedankt graag zullen wordt niet met voor",
    "pl": "jest się nie na że to jutro dzisiaj dziękujemy przepraszamy zadzwonimy wyślemy pan pani państwa do",
    "tr": "bir ve bu için ile çok teşekkürler yarın bugün size sizi özür dileriz arayacağız değil",
    "sv": "och att det är vi du din ditt imorgon idag tack förlåt kommer ska inte med för",
    "id": "dan yang untuk dengan kami anda besok hari ini terima kasih maaf akan tidak ini itu",
    "ro": "și este nu pe cu pentru vă noi mâine astăzi mulțumim ne pare rău vom",
    "cs": "je se na že to zítra dnes děkujeme omlouváme zavoláme pošleme vám nás",
}
_STOPWORDS = {lang: frozenset(words.split()) for lang, words in _COMMON.items()}
NAMES = {"en": "English", "es": "Spanish", "fr": "French", "de": "German", "pt": "Portuguese", "it": "Italian",
         "nl": "Dutch", "pl": "Polish", "tr": "Turkish", "sv": "Swedish", "id": "Indonesian", "ro": "Romanian",
         "cs": "Czech", "other": "written in another script"}  # fmt: skip
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def language_of(text: str, hint: str | None = None) -> str:
    """The reply's language by its common words; the hint (the writer's locale) decides a tie or a
    reply too short to tell. Languages other than ``CODES`` come back too, so the caller can ask."""
    words = [w.lower() for w in _WORD.findall(text)]
    hinted = (hint or "en")[:2].lower()
    if not words:
        return hinted if hinted in CODES else "en"
    letters = [ch for w in words for ch in w]
    if len(letters) >= 6 and sum(1 for ch in letters if _LATIN.match(ch)) < len(letters) / 2:
        return "other"  # Cyrillic, Greek, Arabic, Hebrew, Chinese, Japanese, Korean, Thai …
    scores = {lang: sum(1 for w in words if w in stop) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: (scores[lang], lang == hinted, lang == "en"))
    if scores[best] == 0 or (scores[best] < 2 and len(words) > 3 and best not in (hinted, "en")):
        return hinted if hinted in CODES else "en"
    return best


# -- what counts as a promise in each language -------------------------------------------------------

_FUTURE = {
    "es": re.compile(
        r"\b(?:\w+(?:aré|arás|ará|aremos|arán|eré|erá|eremos|erán|iré|irá|iremos|irán)|haremos|tendrá|tendremos|"
        r"pondremos|podremos|vendrá|saldrá|diremos|(?:vamos|va|voy)\s+a\s+\w+(?:ar|er|ir))\b"
    ),
    "fr": re.compile(
        r"\b(?:nous|je|j'|on|il|elle|ils|un\s+[\w-]+|une\s+[\w-]+|le\s+[\w-]+|la\s+[\w-]+|l'[\w-]+|notre\s+[\w-]+|"
        r"votre\s+[\w-]+)\s*(?:vous\s+|te\s+|le\s+|la\s+|les\s+|lui\s+|en\s+)?(?:\w+(?:rai|ra|rons|ront)|"
        r"(?:allons|vais|va|vont)\s+\w+(?:er|ir|re))\b"
    ),
    "de": re.compile(
        r"\b(?:wir|ich|man)\s+(?:werden|werde|\w+(?:en|e))\b|\b(?:wird|werden|erfolgt|erfolgen|erhalten\s+sie|"
        r"kommt|kommen|melden\s+uns|melde\s+mich)\b"
    ),
    "pt": re.compile(
        r"\b(?:\w+(?:arei|aremos|ará|arão|erei|eremos|erá|erão|irei|iremos|irá|irão)|faremos|teremos|"
        r"(?:vamos|vai|vou|irei|iremos)\s+\w+(?:ar|er|ir))\b"
    ),
}
_CONDITION = {
    "es": re.compile(r"^\W*(?:si|cuando|en\s+cuanto)\b"),
    "fr": re.compile(r"^\W*(?:si|s'il|quand|dès\s+que|lorsque)\b"),
    "de": re.compile(r"^\W*(?:wenn|falls|sobald)\b"),
    "pt": re.compile(r"^\W*(?:se|quando|assim\s+que)\b"),
}
_NEGATION = {
    "es": re.compile(r"\bno\s+(?:\w+\s+)?(?:podremos|podemos|vamos|será|va)\b"),
    "fr": re.compile(r"\bne\s+\w+|\bn'\w+"),
    "de": re.compile(r"\b(?:nicht|kein|keine|keinen)\b"),
    "pt": re.compile(r"\bnão\b"),
}
_NEEDS_TIME = {"de"}
"""German states a plan in the present tense ("wir rufen Sie morgen an"): a time makes it a promise."""


def is_promise(sentence: str, lang: str, *, has_time: bool) -> bool:
    """A commitment in ``lang`` (a future act of ours), not a question, a condition or a refusal."""
    s = sentence.strip()
    if not s or s.endswith("?") or s.startswith("¿"):
        return False
    if _CONDITION[lang].search(s) or _NEGATION[lang].search(s):
        return False
    if not _FUTURE[lang].search(s):
        return False
    return has_time or lang not in _NEEDS_TIME
