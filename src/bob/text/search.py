"""Normalisation, language detection and tokenisation for knowledge search.

Every passage is tokenised with the analyser of its own language (`detect_language`, stored with
the chunk), and a question is tokenised once per language the tenant's passages are written in,
so a question and a passage always meet through the same analyser: that symmetry is what makes
"horários" find "horário" and "shipping" find "ship". An analyser is:

- **Latin and other alphabetic scripts:** NFKC, case folding, accents removed, the language's
  stopwords dropped, then the language's Snowball stemmer (PyStemmer). Compounds are kept whole
  *and* split: "check-in" gives `checkin` and `check`, "CareCredit" gives `carecredit`, `care` and
  `credit`, so "wifi" finds "Wi-Fi" and "Care Credit" finds "CareCredit".
- **Japanese** (`ja`): words found by Sudachi (SudachiPy with the core dictionary), in their
  normalised form (泊まれ → 泊まる, 子ども → 子供), particles, auxiliaries, symbols and the like
  dropped by part of speech. A compound is indexed whole and as its parts (喫煙スペース gives 喫煙
  and スペース too) and asked for by its parts, and an ichidan verb that is also the potential
  form of a one-kanji godan verb stands for both (入れる and 入る), because 入れますか asks both
  "can I enter" and "can I put in".
- **Chinese and Korean** (`zh`, `ko`), and Han or Hangul inside text of another language:
  overlapping two-character pieces of each run (営業時間 → 営業, 業時, 時間), a reasonable fallback
  for writing without spaces when no segmenter for the language is at hand.

A question's terms keep the compound structure (`Term`): "check-in" is found by a passage with
`checkin`, never by one that only says "check-out". When the question's own language is known and
differs from the passages', its stopwords are dropped too and its own stemmer adds a second form
to each term ("implants" → `implant` also meets Spanish "implantes").
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import Stemmer

if TYPE_CHECKING:
    from sudachipy import Tokenizer

# Stored with each chunk; a chunk analysed by an older version is re-tokenised in the background.
ANALYZER_VERSION = 2
DEFAULT_LANGUAGE = "en"
# Longer "words" are identifiers, hashes or base64, which nobody asks about.
MAX_TOKEN_LENGTH = 64

_SNOWBALL = {
    "ar": "arabic",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "it": "italian",
    "nl": "dutch",
    "no": "norwegian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
# Latin-script words inside Japanese, Chinese or Korean text are nearly always English.
_LATIN_STEMMER = {"ja": "en", "zh": "en", "ko": "en"}

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

_KANA = "\u3040-\u30ff\u31f0-\u31ff"
_HAN = "\u3005-\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HANGUL = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7ff"
# Scripts written without spaces between words, and the kana that goes with them.
_CJK_SEGMENT = re.compile(f"[{_KANA}{_HAN}{_HANGUL}]+")
_HIRAGANA_CHAR = re.compile("[\u3040-\u309f]")
_KANA_CHAR = re.compile(f"[{_KANA}]")
_HAN_CHAR = re.compile(f"[{_HAN}]")
_HANGUL_CHAR = re.compile(f"[{_HANGUL}]")
_HYPHENS = re.compile("[-\u2010\u2011]")
# Lower→upper ("CareCredit") and the end of a capitalised run ("HTMLParser"); a plural
# acronym ("FAQs", "PDFs") stays one word.
_CAMEL = re.compile(r"(?<=[^A-Z\W\d_])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][^A-Z\W\d_]{2})")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS_BY_LANGUAGE = {
    # Not "us" (the US) nor "may" (the month): both are things visitors ask about. Question
    # fillers ("much", "get", "take") are here because a filler the knowledge never uses would
    # otherwise weigh like the rarest word.
    "en": """a an the and or but if of to in on at by for with from about into over under as
        is are was were be been being am do does did done have has had having can could will
        would shall should might must i me my mine we our ours you your yours he him his
        she her hers it its they them their theirs this that these those there here what which
        who whom whose when where why how not no yes so than then too very just also any some
        all each please thanks thank hi hello hey tell know want need don doesn didn isn aren
        won much many get gets got getting take takes make makes way anything something
        anyone someone still really actually possible able like ok okay sure thing things
        question questions info information ask find let im ive youre dont doesnt cant
        other others own same such only few more most both nor off again further once until
        while during before after above below up down out through between against because
        myself ourselves yourself yourselves himself herself itself themselves doing ought
        cannot wasn weren hasn haven hadn wouldn shouldn couldn""",
    "pt": """o a os as um uma uns umas de do da dos das em no na nos nas por pelo pela pelos
        pelas para com sem e ou que qual quais quando onde como porque quem é são ser estar
        está estão foi era tem têm ter há eu tu você vocês ele ela eles elas nós meu minha meus
        minhas seu sua seus suas teu tua nosso nossa vosso vossa se me te lhe lhes isso isto esse
        essa este esta aquele aquela não sim mais muito também ao aos à às pode posso podem
        gostaria queria quero olá oi obrigado obrigada favor quanto quanta quantos quantas
        preciso precisa saber informação informações info dúvida pergunta tenho temos existe
        existem algum alguma alguns algumas tudo fazer faz fazem consigo então mim
        mas dele dela deles delas num numa nem já só até isso entre depois mesmo aquilo
        aqueles aquelas esses essas estes estas nossos nossas teus tuas vos estou estamos estava
        estavam esteja estive esteve sou somos eram fui foram seja sejam fosse for será seria
        tinha tinham tive teve tenha houve haja
        pra pro pros vc vcs tá ta q xq pq tb tbm td mto aki aqui ai né hj""",
    "es": """el la los las un una unos unas de del al en por para con sin y o u que qué cual
        cuál cuales cuáles cuando cuándo donde dónde como cómo quien quién quienes porque es son
        ser estar está están fue era tiene tienen tener hay yo tú usted ustedes él ella ellos
        ellas nosotros vosotros mi mis su sus tu tus nuestro nuestra vuestro se me te le les lo
        este esta esto ese esa eso aquel no sí más muy también puedo puede pueden hola gracias
        quiero quisiera cuánto cuánta cuántos cuántas cuanto cuanta cuantos cuantas necesito
        saber información info duda pregunta tengo tenemos hacen hacer hace algún alguna algunos
        algunas pero ya ni otro otra otros otras ante antes algo nada poco mucho muchos tanto
        sobre entre hasta desde durante todo toda todos todas mí ti os nosotras vosotras mío mía
        suyo suya nuestros nuestras vuestra esos esas estos estas estoy estás estamos estaba
        estaban esté sea soy eres somos eran fueron será sería he has ha hemos han haya había
        tienes tenía tenga tenéis tenés habéis hacéis podéis sois estáis queréis
        vos porfa xfa q xq pq tb tmb d x""",
    "fr": """le la les l un une des du de d au aux en dans par pour avec sans et ou que qu qui
        quoi quel quelle quels quelles quand où comment pourquoi est sont être suis es êtes
        sommes avez avons ont a ai as je j tu vous il elle ils elles nous on mon ma mes ton ta
        tes votre vos son sa ses leur leurs ce c cet cette ces ne n pas plus y se s me m te t lui
        bonjour merci peux peut pouvez plaît combien""",
    "de": """der die das den dem des ein eine einen einem einer eines und oder aber wenn als
        wie was wer wo wann warum welche welcher welches wieso weshalb ist sind waren sein bin
        bist seid haben habe hast habt kann können könnt kannst muss müssen wird werden ich du
        er sie es wir ihr mein meine dein deine seine ihre ihren ihnen unser unsere euer uns zu
        zum zur im in am an auf aus bei mit nach von vor für über um nicht kein keine auch noch
        hallo danke bitte gibt viel""",
    "it": """il lo la i gli le un uno una di del dello della dei degli delle da dal dalla in nel
        nella su sul sulla con per tra fra e o che chi cosa quale quali quando dove come perché
        è sono essere ha hanno avete abbiamo ho io tu lei lui noi voi loro mio mia suo sua
        vostro vostra nostro nostra ci si mi ti non più anche ciao grazie posso può potete dell
        all dall nell sull quanto""",
    "nl": """de het een en of van in op aan met voor naar bij uit over wat wie waar wanneer
        hoe waarom welke welk is zijn was waren ben bent heeft hebben heb kan kunnen kunt wordt
        worden ik jij je u hij zij ze wij we jullie mijn uw jouw ons onze niet geen ook er dit
        dat deze die hallo bedankt alstublieft graag""",
    "pl": """i w we z ze na do od o u za po dla przez czy jak co kto gdzie kiedy dlaczego jaki
        jaka jakie który która które ile jest są był była było być mam masz ma mamy macie mają
        ja ty on ona ono my wy oni one mój moja moje twój twoja wasz wasza nasz nasza się nie
        tak to ten ta te tego też można proszę dziękuję""",
}
# A word that only makes a question of measure ("how long", "quanto tempo"), after the word
# that asks: the passage answers with a number, not with the word.
_MEASURES = {
    "en": {"how": frozenset({"long", "far", "often", "soon", "big", "much", "many"})},
    "pt": {"quanto": frozenset({"tempo"}), "quantos": frozenset({"dias"})},
    "es": {"cuanto": frozenset({"tiempo"}), "cuantos": frozenset({"dias"})},
}
# Compared with the two-character pieces that Chinese and Korean text becomes.
_CJK_BIGRAM_STOPWORDS = _words(
    "何 何時 什么 怎么 哪里 你们 我们 请问 언제 무엇 어디 입니 니까 습니"
)

# Sudachi's parts of speech that carry no topic: particles, auxiliaries, symbols, blanks,
# prefixes (お, ご) and suffixes (様, 用), interjections, conjunctions, adnominals (この),
# pronouns (何時, どこ) and adverbs (とても, もう).
_JA_DROP_POS = _words(
    "助詞 助動詞 補助記号 記号 空白 接頭辞 接尾辞 感動詞 接続詞 連体詞 代名詞 副詞"
)
# Normalised forms of light verbs and question fillers ("is there", "can I", "please tell me").
_JA_STOPWORDS = _words(
    """有る 居る 為る 出来る 成る 御座る 頂く 下さる 致す 遣る 貰う 呉れる 仕舞う 良い 宜しい
    何 何時 何処 如何 幾ら 幾つ 誰 何故 何人 事 物 此れ 其れ 此処 其処 教える 知る 分かる
    思う 欲しい 御願い 願う 可能 大丈夫 こと もの 掛かる 無い 在る 為さる"""
)
_E_TO_U = str.maketrans("えけげせぜてでねべぺめれ", "うくぐすずつづぬぶぷむる")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _DIACRITICS.sub("", unicodedata.normalize("NFKD", text)).translate(_LETTERS)
    # Recomposition puts Hangul syllables and voiced kana back together after NFKD split them.
    return unicodedata.normalize("NFC", text)


_STOPWORDS = {
    language: frozenset(_fold(word) for word in words.split())
    for language, words in _STOPWORDS_BY_LANGUAGE.items()
}


def normalise(text: str) -> str:
    """NFKC, casefolded, accents removed: "Horários" -> "horarios", full-width letters -> ASCII."""
    return _fold(text)


# ---- languages -----------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+")


# Letters and endings that only some of the languages use; each is one more vote.
_HINTS = (
    (re.compile("[ãõ]|ções|ção"), ("pt",)),
    (re.compile("ç"), ("pt", "fr")),
    (re.compile("[ñ¿¡]|ciones|ción"), ("es",)),
    (re.compile("[èêëîïûœ]"), ("fr",)),
    (re.compile("[ìò]"), ("it",)),
    (re.compile("[ßäöü]"), ("de",)),
    (re.compile("[ąęłńśźżć]"), ("pl",)),
)


def _votes(text: str) -> list[tuple[str, float]]:
    """Every function word votes for the languages that use it, split between them ("qual" is a
    whole vote for Portuguese, "de" a fifth each), and so does every telling letter ("ã", "ñ");
    best first."""
    scores = dict.fromkeys(_STOPWORDS, 0.0)
    for word in (_fold(w) for w in _WORD.findall(text)):
        languages = [lang for lang, vocabulary in _STOPWORDS.items() if word in vocabulary]
        for language in languages:
            scores[language] += 1 / len(languages)
    lowered = text.lower()
    for pattern, hinted in _HINTS:
        for _ in pattern.finditer(lowered):
            for language in hinted:
                scores[language] += 1 / len(hinted)
    return sorted(scores.items(), key=lambda i: i[1], reverse=True)


def guess_language(text: str) -> str | None:
    """The language a message is written in, when its function words make that clear.

    Kana means Japanese. Otherwise the winner of the function words' vote needs a clear lead, so
    short or mixed messages give None and the browser decides.
    """
    if _KANA_CHAR.search(text):
        return "ja"
    (best, score), (_, runner_up) = _votes(text)[:2]
    if score >= 1.5 and score >= 1.5 * runner_up:
        return best
    return None


_ALPHABETS = {"ru": (0x0400, 0x04FF), "el": (0x0370, 0x03FF), "ar": (0x0600, 0x06FF)}


def _script_language(text: str) -> str | None:
    letters = sum(1 for c in text if c.isalpha())
    if not letters:
        return None
    kana = len(_KANA_CHAR.findall(text))
    han = len(_HAN_CHAR.findall(text))
    if kana and kana + han >= 0.3 * letters:
        return "ja"
    if len(_HANGUL_CHAR.findall(text)) >= 0.3 * letters:
        return "ko"
    if han >= 0.3 * letters:
        return "zh"
    for language, (low, high) in _ALPHABETS.items():
        if sum(1 for c in text if low <= ord(c) <= high) >= 0.5 * letters:
            return language
    return None


def detect_language(text: str, fallback: str | None = DEFAULT_LANGUAGE) -> str | None:
    """The language of a passage: by script for Japanese, Korean, Chinese, Russian, Greek and
    Arabic, otherwise by its function words; `fallback` when neither is clear."""
    by_script = _script_language(text)
    if by_script is not None:
        return by_script
    (best, score), (_, runner_up) = _votes(text)[:2]
    # A passage only picks its stemmer, so a modest lead is enough; a message's language is
    # what Bob replies in, hence guess_language's stricter rule.
    if score >= 1.0 and score >= runner_up + 0.5:
        return best
    return fallback


def passage_languages(
    title: str, passages: Sequence[str], content: str, fallback: str = DEFAULT_LANGUAGE
) -> list[str]:
    """The analyser language of each passage of an item: its own when clear, else the item's
    (a passage is short, the item as a whole says more), else `fallback` (the tenant's)."""
    item_language: str | None = None
    languages: list[str] = []
    for passage in passages:
        found = detect_language(f"{title}\n{passage}", fallback=None)
        if found is None:
            if item_language is None:
                item_language = detect_language(f"{title}\n{content}", fallback=fallback)
            found = item_language
        languages.append(analyser_language(found))
    return languages


def dominant_language(texts: Iterable[str]) -> str | None:
    """The language most of `texts` are clearly written in, if any is clear."""
    counts = Counter(
        found for found in (detect_language(t, fallback=None) for t in texts) if found is not None
    )
    if not counts:
        return None
    return analyser_language(max(sorted(counts), key=lambda language: counts[language]))


def analyser_language(language: str | None) -> str:
    """The analyser a language tag is tokenised with ("pt-BR" → "pt"); unknown tags get the
    default, so every stored chunk names an analyser that exists."""
    primary = re.split(r"[-_]", (language or "").strip(), maxsplit=1)[0].lower()
    if primary in _SNOWBALL or primary in _LATIN_STEMMER:
        return primary
    return DEFAULT_LANGUAGE


# ---- per-thread analysers ------------------------------------------------------------------

_local = threading.local()
_sudachi_lock = threading.Lock()
_sudachi_dictionary: Any = None


def _stemmer(language: str) -> Any:
    # PyStemmer's stemmers and Sudachi's tokenizers are not safe to share between threads
    # (re-tokenising runs in a worker thread while the event loop answers chat).
    stemmers: dict[str, Any] | None = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    stemmer = stemmers.get(language)
    if stemmer is None:
        stemmer = stemmers[language] = Stemmer.Stemmer(_SNOWBALL[language])
    return stemmer


def _sudachi() -> Tokenizer:
    """One dictionary per process, loaded on first use (it maps about 70 MB); one tokenizer per
    thread on top of it."""
    global _sudachi_dictionary
    tokenizer: Tokenizer | None = getattr(_local, "sudachi", None)
    if tokenizer is not None:
        return tokenizer
    from sudachipy import Dictionary, SplitMode

    with _sudachi_lock:
        if _sudachi_dictionary is None:
            _sudachi_dictionary = Dictionary(dict="core")
        tokenizer = _sudachi_dictionary.tokenizer(mode=SplitMode.C)
    _local.sudachi = tokenizer
    return tokenizer


# ---- tokens --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One thing a question asks about. It is found in a passage when every token of any one
    of its `forms` is there: "check-in" is `(("checkin",),)`, "CareCredit" is
    `(("carecredit",), ("care", "credit"))` and 入れる is `(("入れる",), ("入る",))`."""

    forms: tuple[tuple[str, ...], ...]

    @property
    def key(self) -> str:
        """The term as shown to people and compared by the excerpt: its first token."""
        return self.forms[0][0]

    def found_in(self, tokens: Collection[str]) -> bool:
        return any(all(token in tokens for token in form) for form in self.forms)


@dataclass(frozen=True)
class _Word:
    """A word as the index stores it (`tokens`) and as a question asks for it (`terms`)."""

    tokens: tuple[str, ...]
    terms: tuple[Term, ...]


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
    # The underscore counts as \w but joins words ("opening_hours") in what people paste;
    # hyphens join the parts of one compound ("check-in", "Wi-Fi").
    letter = f"(?:[^\\W_]|[{''.join(marks)}])+"
    return re.compile(f"{letter}(?:[-\u2010\u2011]{letter})*")


class _Analyser:
    def __init__(self, language: str, question_language: str | None = None) -> None:
        self.language = language
        latin = _LATIN_STEMMER.get(language, language)
        self.stemmer = latin if latin in _SNOWBALL else None
        self.stopwords = _STOPWORDS.get(language, _STOPWORDS.get(latin, frozenset()))
        self.measures = dict(_MEASURES.get(latin, {}))
        if question_language and question_language != language:
            # A question's own function words are not what it asks about, whatever the
            # passage's language.
            self.stopwords = self.stopwords | _STOPWORDS.get(question_language, frozenset())
            self.measures.update(_MEASURES.get(question_language, {}))

    def stem(self, folded: str) -> str:
        if self.stemmer is None or not folded.isalpha():
            return folded
        if self.stemmer == "pt" and folded.endswith("oes"):
            # Folding turns -ções/-ção into -coes/-cao, which Snowball no longer sees as one
            # word; meeting at the singular keeps "devoluções" and "devolucao" together.
            folded = folded[:-3] + "ao"
        stem: str = _stemmer(self.stemmer).stemWord(folded)
        return stem

    def _content(self, folded: str) -> bool:
        if folded in self.stopwords or len(folded) > MAX_TOKEN_LENGTH:
            return False
        return not (len(folded) == 1 and folded.isalpha())

    def words(self, text: str) -> Iterator[_Word]:
        text = unicodedata.normalize("NFKC", text)
        position = 0
        for segment in _CJK_SEGMENT.finditer(text):
            yield from self._alphabetic(text[position : segment.start()])
            if self.language == "ja":
                yield from _japanese(segment.group(), self)
            else:
                yield from _bigrams(_fold(segment.group()))
            position = segment.end()
        yield from self._alphabetic(text[position:])

    def _alphabetic(self, text: str) -> Iterator[_Word]:
        previous = ""
        for raw in _word_pattern().findall(text):
            pieces = [
                piece for part in _HYPHENS.split(raw) for piece in _CAMEL.split(part) if piece
            ]
            folded = [_fold(piece) for piece in pieces]
            asked, previous = previous, folded[-1]
            if len(folded) == 1:
                if folded[0] in self.measures.get(asked, ()):
                    continue
                if self._content(folded[0]):
                    token = self.stem(folded[0])
                    yield _Word((token,), (Term(((token,),)),))
                continue
            parts = [self.stem(piece) for piece in folded if self._content(piece)]
            joined = "".join(folded)
            if not self._content(joined):
                # Nothing whole to search for ("e-" alone, or a stopword): the parts stand alone.
                yield from (_Word((part,), (Term(((part,),)),)) for part in parts)
                continue
            whole = self.stem(joined)
            forms: tuple[tuple[str, ...], ...] = ((whole,),)
            if len(parts) >= 2:
                # All of two or more parts ("care" and "credit") mean the compound; one alone
                # ("check" of check-in) would also find its opposite (check-out).
                forms += (tuple(dict.fromkeys(parts)),)
            yield _Word((whole, *parts), (Term(forms),))


def _bigrams(run: str) -> Iterator[_Word]:
    start = 0
    for i in range(1, len(run) + 1):
        if i < len(run) and bool(_HIRAGANA_CHAR.match(run[i])) == bool(
            _HIRAGANA_CHAR.match(run[start])
        ):
            continue
        piece, start = run[start:i], i
        if _HIRAGANA_CHAR.match(piece):
            # Hiragana alone is mostly particles and verb endings (は, です, ますか).
            continue
        grams = [piece] if len(piece) == 1 else [piece[j : j + 2] for j in range(len(piece) - 1)]
        for gram in grams:
            if gram not in _CJK_BIGRAM_STOPWORDS:
                yield _Word((gram,), (Term(((gram,),)),))


def _japanese(segment: str, analyser: _Analyser) -> Iterator[_Word]:
    from sudachipy import SplitMode

    for morpheme in _sudachi().tokenize(segment):
        pos = morpheme.part_of_speech()
        if pos[0] in _JA_DROP_POS:
            continue
        form = _letters(morpheme.normalized_form())
        if not form or form in _JA_STOPWORDS or form in analyser.stopwords or _is_single_kana(form):
            continue
        if pos[0] == "動詞":
            godan = _godan_reading(form)
            if godan is not None:
                yield _Word((form, godan), (Term(((form,), (godan,))),))
                continue
        parts = morpheme.split(SplitMode.A) if pos[0] != "動詞" else []
        # Single characters (所 of 喫煙所, 場 of 駐車場) name too little alone.
        words = [_letters(p.normalized_form()) for p in parts] if len(parts) > 1 else []
        words = list(dict.fromkeys(w for w in words if len(w) > 1 and w not in _JA_STOPWORDS))
        if words:
            # Each part is a word of its own in Japanese (メール of メールアドレス, 喫煙 of
            # 喫煙所), so a question asks for the parts; the index also keeps the whole.
            yield _Word((form, *words), tuple(Term(((w,),)) for w in words))
        else:
            yield _Word((form,), (Term(((form,),)),))


def _letters(text: str) -> str:
    """Folded, letters, digits and marks only: what both full-text indexes keep as one word."""
    return "".join(c for c in _fold(text) if unicodedata.category(c)[0] in "LNM")


def _is_single_kana(form: str) -> bool:
    return len(form) == 1 and bool(_KANA_CHAR.match(form))


@lru_cache(maxsize=4096)
def _godan_reading(verb: str) -> str | None:
    """入れる → 入る: the one-kanji godan verb whose potential form an ichidan verb also is,
    when the dictionary knows it as a verb."""
    if len(verb) != 3 or not _HAN_CHAR.match(verb[0]) or verb[2] != "る":
        return None
    candidate = verb[0] + verb[1].translate(_E_TO_U)
    if candidate[1] == verb[1]:
        return None
    morphemes = _sudachi().tokenize(candidate)
    if len(morphemes) != 1 or morphemes[0].part_of_speech()[0] != "動詞":
        return None
    return candidate if _fold(morphemes[0].normalized_form()) == candidate else None


@lru_cache(maxsize=64)
def _analyser(language: str, question_language: str | None) -> _Analyser:
    return _Analyser(language, question_language)


def index_tokens(text: str, language: str | None = None) -> list[str]:
    """Search tokens of a text, stopwords removed, repeats kept (they weigh in the ranking).
    Without `language`, the text's own is detected."""
    analyser = _analyser(analyser_language(language or detect_language(text)), None)
    return [token for word in analyser.words(text) for token in word.tokens]


def question_terms(
    text: str, language: str | None = None, *, question_language: str | None = None
) -> list[Term]:
    """The distinct terms of a question as passages in `language` are indexed, in the order they
    first appear. `question_language` (the question's own, when known) adds its stopwords."""
    language = analyser_language(language or question_language or guess_language(text))
    asked = analyser_language(question_language) if question_language else None
    words = list(_analyser(language, asked).words(text))
    if asked is not None and asked != language and "ja" not in (language, asked):
        # The question's own stemmer too, as a second form of each term: an English "implants"
        # then also finds the Spanish "implantes" (both "implant"), which the Spanish stemmer
        # alone would not. Both analysers drop the same words, so the words pair up.
        own = list(_analyser(asked, language).words(text))
        if len(own) == len(words):
            words = [_either(word, other) for word, other in zip(words, own, strict=True)]
    return list(dict.fromkeys(term for word in words for term in word.terms))


def _either(word: _Word, other: _Word) -> _Word:
    if len(word.terms) != 1 or len(other.terms) != 1:
        return word
    [term], [alternative] = word.terms, other.terms
    forms = term.forms + tuple(form for form in alternative.forms if form not in term.forms)
    return _Word(word.tokens, (Term(forms),))


def query_terms(text: str, language: str | None = None) -> list[str]:
    """The distinct content terms of a question (their keys), in the order they first appear.
    Without `language`, the question's own is guessed (English when unclear)."""
    return [term.key for term in question_terms(text, language)]


# Between a chunk's title tokens and its own in `search_text`; both indexes skip it.
TITLE_END = "|"


def search_text(title: str, text: str, language: str) -> str:
    """What a chunk stores for the full-text index: its item's title's tokens, then its own."""
    return " ".join([*index_tokens(title, language), TITLE_END, *index_tokens(text, language)])


def stored_tokens(stored: str) -> tuple[list[str], list[str]]:
    """(title tokens, passage tokens) of a chunk's `search_text`."""
    tokens = stored.split()
    if TITLE_END not in tokens:
        return [], tokens  # stored by an analyser that kept no title apart
    end = tokens.index(TITLE_END)
    return tokens[:end], tokens[end + 1 :]


def coverage(
    terms: Sequence[str | Term],
    passage_tokens: Iterable[str],
    weights: Mapping[str, float] | None = None,
) -> float:
    """The share (0..1) of the question's distinct terms that the passage contains, each term
    weighing `weights[key]` (default 1)."""
    wanted = list(dict.fromkeys(t if isinstance(t, Term) else Term(((t,),)) for t in terms))
    if not wanted:
        return 0.0
    tokens = set(passage_tokens)
    weight = weights or {}
    total = sum(weight.get(t.key, 1.0) for t in wanted)
    if total <= 0:
        return 0.0
    return sum(weight.get(t.key, 1.0) for t in wanted if t.found_in(tokens)) / total
