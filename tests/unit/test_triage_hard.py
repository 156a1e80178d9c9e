"""The posts a rule-based triage gets wrong first: sarcasm, plain questions, other languages.

Written for these tests (none comes from the measurement data), in the voice of customers writing
to a brand.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.store.enums import Kind
from bot.triage.classify import CueIndex, Triage, declared_language, fold, priority, required_literals
from tests.inert import CORPUS


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage()


SARCASM = [
    "great, my flight got cancelled again, thanks a lot 🙃",
    "Love how you lose my luggage every single time 😍",
    "@AcmeAir wow, third delay this week. amazing service as always 👏",
    "@AcmeTel thanks for nothing, still no internet",
    "@AcmeShop oh great, the wrong size again. just what I needed",
    "@AcmeBank brilliant, charged twice for the same coffee 🙄",
    "@AcmeRail love it when the 8:15 is cancelled and nobody tells us",
    "@AcmeMail perfect, my parcel is 'delivered' but not here. well done",
    "@AcmePower thank you so much for cutting my power during the match 🙃",
    "@AcmeAir so much for 'on time guaranteed', 3 hours on the tarmac",
    "Thanks @AcmeFood for the cold fries and the missing burger, real treat",
    "@AcmeApp awesome update, now it crashes every time I open it 👏👏",
]


@pytest.mark.parametrize("text", SARCASM)
def test_sarcastic_complaints_are_never_praise(triage: Triage, text: str):
    verdict = triage.classify(text)
    assert verdict.kind is not Kind.PRAISE, verdict
    assert verdict.kind is Kind.COMPLAINT, verdict


def test_sarcasm_is_named_in_the_signals(triage: Triage):
    assert "sarcasm" in triage.classify("great, my flight got cancelled again, thanks a lot 🙃").signals


QUESTIONS = [
    "can I bring my cat in the cabin?",
    "is your website down?",
    "@AcmeAir how many bags can I check on a basic fare?",
    "@AcmeShop do you have the blue one in a medium",
    "@AcmeBank what are your opening hours on Saturday",
    "@AcmeTel I need to change the address on my account, how do I do that",
    "@AcmeShop is there a store in Leeds",
    "@AcmeAir any update on the Lisbon route?",
    "@AcmeMail hi, wondering if you deliver on Sundays",
    "@AcmeTel please DM me the number for business accounts",
    "@AcmeBank can someone help me set up the app",
    "@AcmeAir what time does check-in open for flight 212?",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions_are_never_other(triage: Triage, text: str):
    verdict = triage.classify(text)
    assert verdict.kind in (Kind.QUESTION, Kind.COMPLAINT), verdict


@pytest.mark.parametrize(
    "text",
    [
        "can I bring my cat in the cabin?",
        "@AcmeShop do you have the blue one in a medium",
        "@AcmeShop is there a store in Leeds",
    ],
)
def test_a_question_about_nothing_wrong_is_a_question(triage: Triage, text: str):
    assert triage.classify(text).kind is Kind.QUESTION


@pytest.mark.parametrize(
    "text",
    [
        "@AcmeAir thank you so much, Sam at the gate was amazing today!",
        "@AcmeShop shout out to Priya in the Leeds store, so helpful and kind",
        "@AcmeBank huge thanks to Tom on the phone, sorted in five minutes. brilliant service",
        "@AcmeTel Maria was fantastic, best support I've had. thank you!",
    ],
)
def test_praise_naming_a_member_of_staff_stays_praise(triage: Triage, text: str):
    assert triage.classify(text).kind is Kind.PRAISE


@pytest.mark.parametrize(
    "text",
    [
        "Watching the match with @AcmeCola tonight",
        "follow me and retweet to win a free iPhone, link in bio",
        "lovely morning for a run",
    ],
)
def test_chatter_and_spam_stay_other(triage: Triage, text: str):
    assert triage.classify(text).kind is Kind.OTHER


READABLE = [
    ("es", "@Iberia mi vuelo fue cancelado y nadie responde, es una vergüenza"),
    ("es", "@Movistar llevo tres días sin internet y todavía no me dan solución"),
    ("es", "@Zara mi pedido no llegó y quiero el reembolso"),
    ("fr", "@SNCF mon colis n'est toujours pas arrivé, c'est inadmissible"),
    ("fr", "@Orange plus de connexion depuis lundi et personne ne répond"),
    ("fr", "@Fnac j'attends toujours mon remboursement, merci pour rien"),
    ("de", "@DHL meine Bestellung ist immer noch nicht da, seit zwei Wochen!"),
    ("de", "@Telekom das Internet funktioniert schon wieder nicht, unverschämt"),
    ("de", "@Lufthansa Flug storniert und keine Antwort auf meine Erstattung"),
    ("pt", "@Correios meu pedido ainda não chegou, péssimo atendimento"),
    ("pt", "@Vivo estou sem internet há dois dias e ninguém resolve"),
    ("pt", "@TAP voo cancelado e até agora nada do reembolso"),
]


@pytest.mark.parametrize(("lang", "text"), READABLE)
def test_complaints_in_the_languages_triage_reads(triage: Triage, lang: str, text: str):
    verdict = triage.classify(text)
    assert verdict.kind is Kind.COMPLAINT, verdict
    assert verdict.language == lang
    assert not verdict.needs_look


@pytest.mark.parametrize(("lang", "text"), READABLE)
def test_x_language_code_is_taken_first(triage: Triage, lang: str, text: str):
    assert triage.classify(text, lang=lang.upper() + "-XX").language == lang


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("ja", "@ANA 荷物がまだ届きません。どうなっていますか"),
        ("ja", "@Rakuten 注文した商品が壊れていました。返金してください"),
        ("ja", "@Docomo 昨日からネットが繋がらない、最悪"),
        ("it", "@Trenitalia il mio treno è in ritardo di nuovo, che vergogna"),
        ("ko", "@Samsung 주문한 물건이 아직 안 왔어요"),
        ("ru", "@Ozon где мой заказ"),
    ],
)
def test_posts_triage_cannot_read_get_a_card_that_says_so(triage: Triage, lang: str, text: str):
    verdict = triage.classify(text)
    assert verdict.needs_look, verdict
    assert verdict.language == lang
    assert verdict.kind in (Kind.COMPLAINT, Kind.QUESTION)
    assert priority(verdict.kind, verdict.score, followers=0) > 0


def test_an_unreadable_question_is_a_question(triage: Triage):
    verdict = triage.classify("@ANA 機内に猫を連れて行けますか？")
    assert (verdict.kind, verdict.needs_look, verdict.language) == (Kind.QUESTION, True, "ja")


def test_a_language_x_names_is_believed_even_when_the_text_is_short(triage: Triage):
    verdict = triage.classify("@AcmeAir grazie mille", lang="it")
    assert (verdict.needs_look, verdict.language) == (True, "it")


@pytest.mark.parametrize("code", [None, "", "und", "zxx", "qme", "qht"])
def test_x_codes_that_name_no_language_leave_it_to_detection(triage: Triage, code: str | None):
    assert declared_language(code) is None
    assert triage.classify("@AcmeAir still waiting for my refund", lang=code).language == "en"


@pytest.mark.parametrize(
    "text",
    [
        "@AcmeAir ok",
        "chicken nuggets !!!",
        "@AcmeShop Galaxy S8 btw",
        "@AcmeTel no signal",
        "@AcmeBank 👍",
        "https://t.co/abc123",
        "@AcmeAir Nope. Still nada.",
        "@AcmeShop merci",
    ],
)
def test_short_english_posts_are_not_mistaken_for_another_language(triage: Triage, text: str):
    assert not triage.classify(text).needs_look


def test_accents_are_optional(triage: Triage):
    with_accents = triage.classify("@Correios meu pedido ainda não chegou")
    without = triage.classify("@Correios meu pedido ainda nao chegou")
    assert with_accents.kind is without.kind is Kind.COMPLAINT
    assert fold("Ça ne marche pas, Straße") == "ca ne marche pas, strasse"


def test_curly_apostrophes_read_as_straight_ones(triage: Triage):
    assert triage.classify("@AcmeTech my laptop won’t turn on").kind is Kind.COMPLAINT


# --- the literal prefilter finds exactly what searching every cue finds ------------------------


def _brute_force(index: CueIndex, folded: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for group in index.groups:
        hits = sum(1 for cue in group.cues if cue.pattern.search(folded))
        if hits:
            totals[group.name] = totals.get(group.name, 0.0) + min(hits, 2) * group.weight
    return totals


def test_required_literals_are_read_from_the_expression():
    assert required_literals(r"\brefund(s|ed)?\b") == [frozenset({"refund"})]
    # A run of few-string pieces is read as their concatenations: far rarer than its words alone.
    assert required_literals(r"\b(still|yet) (waiting|no)\b") == [
        frozenset({"still waiting", "still no", "yet waiting", "yet no"}),
    ]  # fmt: skip
    assert required_literals(r"\b(thanks?|thx)( so much)? for\b") == [
        frozenset({"thank for", "thanks for", "thx for", "thank so much for", "thanks so much for", "thx so much for"}),
    ]  # fmt: skip
    # Too many concatenations: the run is cut where it would exceed the limit.
    many = "(" + "|".join(f"w{i:02}" for i in range(40)) + ") (" + "|".join(f"v{i:02}" for i in range(40)) + ")"
    assert required_literals(many) == [
        frozenset(f"w{i:02} " for i in range(40)), frozenset(f"v{i:02}" for i in range(40)),
    ]  # fmt: skip
    assert required_literals(r"(?i)refund") is None  # the automaton matches exact strings
    assert required_literals(r"🙄|🙃") == [frozenset({"🙄", "🙃"})]
    assert required_literals(r"(a|)b?") is None
    assert required_literals(r"\w+") is None


SAMPLES = SARCASM + QUESTIONS + [t for _, t in READABLE] + CORPUS


@pytest.mark.parametrize("lang", ["en", "es", "fr", "de", "pt"])
def test_the_prefilter_changes_no_verdict(triage: Triage, lang: str):
    index = triage.cue_sets[lang].index
    for text in SAMPLES:
        folded = fold(text)
        assert index.totals(folded) == _brute_force(index, folded), text


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*SAMPLES, "again", "not working", "thanks", "🙄", "?", "no"]), max_size=5).map(" ".join)
)
def test_the_prefilter_changes_no_verdict_on_mixtures(text: str):
    index = _TRIAGE.cue_sets["en"].index
    folded = fold(text)
    assert index.totals(folded) == _brute_force(index, folded)


_TRIAGE = Triage()
