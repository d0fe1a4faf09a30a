"""Language-neutral normalisation and tokenisation for knowledge search.

Indexing, questions and the extractive engine all go through `index_tokens`, so whatever it does
to a word in a passage it also does to the same word in a question: that symmetry, not linguistic
accuracy, is what makes "horários" find "horario" and "shipping" find "ship". Nothing here knows
which language a text is in; the rules are chosen so they do no harm to the languages they are
not meant for.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from functools import cache

# Longer "words" are identifiers, hashes or base64, which nobody asks about.
MAX_TOKEN_LENGTH = 64
_MIN_STEM = 3

# Only the generic combining diacritics are removed: kana voicing marks and Indic vowel signs
# change the letter itself, so they stay.
_DIACRITICS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters that are distinct code points rather than letter + accent, so decomposition misses them.
_LETTERS = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ħ": "h",
        "\u0131": "i",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
    }
)
_LATIN_WORD = re.compile(r"[a-z]+")

_OTHER, _HIRAGANA, _CJK = 0, 1, 2
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x3005, 0x3007),  # iteration mark, closing mark, ideographic zero
    (0x30A0, 0x30FF),  # Katakana
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # Han extension A
    (0x4E00, 0x9FFF),  # Han
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # Han compatibility
    (0x20000, 0x3134F),  # Han extensions B onwards
)

_STOPWORDS_BY_LANGUAGE = {
    # Not "us" (the US) nor "may" (the month): both are things visitors ask about.
    "en": """a an the and or but if of to in on at by for with from about into over under as
        is are was were be been being am do does did done have has had having can could will
        would shall should might must i me my mine we our ours you your yours he him his
        she her hers it its they them their theirs this that these those there here what which
        who whom whose when where why how not no yes so than then too very just also any some
        all each please thanks thank hi hello hey tell know want need don doesn didn isn aren
        won""",
    "pt": """o a os as um uma uns umas de do da dos das em no na nos nas por pelo pela pelos
        pelas para com sem e ou que qual quais quando onde como porque quem é são ser estar
        está estão foi era tem têm ter há eu tu você vocês ele ela eles elas nós meu minha meus
        minhas seu sua seus suas teu tua nosso nossa vosso vossa se me te lhe lhes isso isto esse
        essa este esta aquele aquela não sim mais muito também ao aos à às pode posso podem
        gostaria queria quero olá oi obrigado obrigada favor""",
    "es": """el la los las un una unos unas de del al en por para con sin y o u que qué cual
        cuál cuales cuáles cuando cuándo donde dónde como cómo quien quién quienes porque es son
        ser estar está están fue era tiene tienen tener hay yo tú usted ustedes él ella ellos
        ellas nosotros vosotros mi mis su sus tu tus nuestro nuestra vuestro se me te le les lo
        este esta esto ese esa eso aquel no sí más muy también puedo puede pueden hola gracias
        quiero quisiera""",
    "fr": """le la les l un une des du de d au aux en dans par pour avec sans et ou que qu qui
        quoi quel quelle quels quelles quand où comment pourquoi est sont être suis es êtes
        sommes avez avons ont a ai as je j tu vous il elle ils elles nous on mon ma mes ton ta
        tes votre vos son sa ses leur leurs ce c cet cette ces ne n pas plus y se s me m te t lui
        bonjour merci peux peut pouvez plaît""",
    "de": """der die das den dem des ein eine einen einem einer eines und oder aber wenn als
        wie was wer wo wann warum welche welcher welches wieso weshalb ist sind waren sein bin
        bist seid haben habe hast habt kann können könnt kannst muss müssen wird werden ich du
        er sie es wir ihr mein meine dein deine seine ihre ihren ihnen unser unsere euer uns zu
        zum zur im in am an auf aus bei mit nach von vor für über um nicht kein keine auch noch
        hallo danke bitte gibt""",
    "it": """il lo la i gli le un uno una di del dello della dei degli delle da dal dalla in nel
        nella su sul sulla con per tra fra e o che chi cosa quale quali quando dove come perché
        è sono essere ha hanno avete abbiamo ho io tu lei lui noi voi loro mio mia suo sua
        vostro vostra nostro nostra ci si mi ti non più anche ciao grazie posso può potete dell
        all dall nell sull""",
    "nl": """de het een en of van in op aan met voor naar bij uit over wat wie waar wanneer
        hoe waarom welke welk is zijn was waren ben bent heeft hebben heb kan kunnen kunt wordt
        worden ik jij je u hij zij ze wij we jullie mijn uw jouw ons onze niet geen ook er dit
        dat deze die hallo bedankt alstublieft graag""",
    "pl": """i w we z ze na do od o u za po dla przez czy jak co kto gdzie kiedy dlaczego jaki
        jaka jakie który która które ile jest są był była było być mam masz ma mamy macie mają
        ja ty on ona ono my wy oni one mój moja moje twój twoja wasz wasza nasz nasza się nie
        tak to ten ta te tego też można proszę dziękuję""",
    # CJK stopwords are compared with bigrams, so they are listed as the bigrams they produce.
    "cjk": "何 何時 什么 怎么 哪里 你们 我们 请问 언제 무엇 어디 입니 니까 습니",
}


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _DIACRITICS.sub("", unicodedata.normalize("NFKD", text)).translate(_LETTERS)
    # Recomposition puts Hangul syllables and voiced kana back together after NFKD split them.
    return unicodedata.normalize("NFC", text)


STOPWORDS = frozenset(
    _fold(word) for words in _STOPWORDS_BY_LANGUAGE.values() for word in words.split()
)


def normalise(text: str) -> str:
    """NFKC, casefolded, accents removed: "Horários" -> "horarios", full-width letters -> ASCII."""
    return _fold(text)


@cache
def _word_pattern() -> re.Pattern[str]:
    # Python's \w stops at combining marks, which would cut Hindi or Thai words apart; built on
    # first use because scanning the code points costs a few milliseconds.
    marks: list[str] = []
    start = previous = -2
    for code in range(0x10000):
        if unicodedata.category(chr(code)).startswith("M"):
            if code != previous + 1:
                if start >= 0:
                    marks.append(f"\\u{start:04x}-\\u{previous:04x}")
                start = code
            previous = code
    marks.append(f"\\u{start:04x}-\\u{previous:04x}")
    # The underscore counts as \w but joins words ("opening_hours") in what people paste.
    return re.compile(f"(?:[^\\W_]|[{''.join(marks)}])+")


def _script(char: str) -> int:
    code = ord(char)
    if 0x3040 <= code <= 0x309F:
        return _HIRAGANA
    for low, high in _CJK_RANGES:
        if low <= code <= high:
            return _CJK
    return _OTHER


def _runs(word: str) -> Iterator[tuple[int, str]]:
    start = 0
    for i in range(1, len(word) + 1):
        if i == len(word) or _script(word[i]) != _script(word[start]):
            yield _script(word[start]), word[start:i]
            start = i


def _cut(word: str, suffix: str, replacement: str = "") -> str | None:
    if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
        return word[: len(word) - len(suffix)] + replacement
    return None


def _stem(word: str) -> str:
    # 1. Plurals first, so a plural and its singular enter the later steps as the same word.
    #    Portuguese -ções and Spanish -ciones lose more than an s; -ss and -us are not plurals.
    for suffix, replacement in (("coes", "cao"), ("ciones", "cion")):
        cut = _cut(word, suffix, replacement)
        if cut is not None:
            word = cut
            break
    else:
        if not word.endswith(("ss", "us")):
            word = _cut(word, "s") or word
    # 2. Inflections, repeated so "listening" and "listen" both end as "list".
    changed = True
    while changed:
        changed = False
        for suffix, replacement in (
            ("mente", ""),
            ("ing", ""),
            ("ed", ""),
            ("en", ""),
            ("cao", "c"),
            ("cion", "c"),
        ):
            cut = _cut(word, suffix, replacement)
            if cut is not None:
                word, changed = cut, True
                break
    # 3. Final vowels carry gender, number or a silent e in the Romance languages and English:
    #    horario/horaria/orari, price/pric(ing), deliver(y)/deliveries all meet here.
    if word.endswith("y") and len(word) > _MIN_STEM:
        word = word[:-1] + "i"
    while len(word) > _MIN_STEM and word[-1] in "aeio":
        word = word[:-1]
    # 4. A doubled final consonant: shipp(ing) -> ship.
    if len(word) > _MIN_STEM and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]
    return word


def _tokens(text: str) -> Iterator[str]:
    for word in _word_pattern().findall(_fold(text)):
        for script, run in _runs(word):
            if script == _HIRAGANA:
                # Hiragana alone is mostly particles and verb endings (は, です, ますか).
                continue
            if script == _CJK:
                # CJK writes no spaces between words; overlapping bigrams find words of any length.
                grams = [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
                yield from (gram for gram in grams if gram not in STOPWORDS)
                continue
            if run in STOPWORDS or len(run) > MAX_TOKEN_LENGTH or (len(run) == 1 and run.isalpha()):
                continue
            yield _stem(run) if _LATIN_WORD.fullmatch(run) else run


def index_tokens(text: str) -> list[str]:
    """Search tokens of a text, stopwords removed, repeats kept (they weigh in the ranking)."""
    return list(_tokens(text))


def query_terms(text: str) -> list[str]:
    """The distinct content terms of a question, in the order they first appear."""
    return list(dict.fromkeys(_tokens(text)))


def search_text(title: str, text: str) -> str:
    """What a chunk stores for the full-text index: its item's title and its own tokens."""
    return " ".join([*_tokens(title), *_tokens(text)])


def coverage(query_terms: Sequence[str], passage_tokens: Iterable[str]) -> float:
    """The share (0..1) of the question's distinct terms that the passage contains."""
    wanted = set(query_terms)
    if not wanted:
        return 0.0
    return len(wanted.intersection(passage_tokens)) / len(wanted)


_WORD = re.compile(r"[^\W\d_]+")
_KANA = re.compile(r"[\u3040-\u30ff]")
_FUNCTION_WORDS = {
    language: frozenset(_fold(word) for word in words.split())
    for language, words in _STOPWORDS_BY_LANGUAGE.items()
    if language != "cjk"
}


def guess_language(text: str) -> str | None:
    """The language a message is written in, when its function words make that clear.

    Kana means Japanese. Otherwise every function word votes for the languages that use it,
    split between them ("qual" is a whole vote for Portuguese, "de" a fifth each), and the
    winner needs a clear lead, so short or mixed messages give None and the browser decides.
    """
    if _KANA.search(text):
        return "ja"
    scores = dict.fromkeys(_FUNCTION_WORDS, 0.0)
    for word in (_fold(w) for w in _WORD.findall(text)):
        languages = [lang for lang, vocabulary in _FUNCTION_WORDS.items() if word in vocabulary]
        for language in languages:
            scores[language] += 1 / len(languages)
    (best, score), (_, runner_up) = sorted(scores.items(), key=lambda i: i[1], reverse=True)[:2]
    if score >= 1.5 and score >= 1.5 * runner_up:
        return best
    return None
