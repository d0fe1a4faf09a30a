"""Input and output checks, and recognising a visitor who asks for a person."""

from __future__ import annotations

import re
import unicodedata

from bob.errors import ValidationFailed

MAX_MESSAGE_CHARS = 4000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_input(message: str) -> str:
    text = _CONTROL.sub("", message).strip()
    if not text:
        raise ValidationFailed("message: must not be empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ValidationFailed(
            f"message: must be at most {MAX_MESSAGE_CHARS} characters (got {len(text)})"
        )
    return text


def check_output(text: str) -> str | None:
    """The reply as it may be shown, or None when nothing usable is left."""
    cleaned = _CONTROL.sub("", text).strip()
    if not cleaned:
        return None
    return cleaned[: MAX_MESSAGE_CHARS * 2]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Phrases that ask for a person, per language, matched on lowercased, accent-folded text.
# Asking *about* people ("do you sell human hair?") must not trigger, so the patterns want a
# verb of talking or handing over, or a word that only means staff.
_STAFF_EN = (
    r"(human|person|someone|somebody|agent|representative|operator|staff|employee|real|"
    r"reception|front desk|manager|owner|host|team|support|customer service)"
)
_STAFF_PT = (
    r"(humano|pessoa|alguem|atendente|funcionari[oa]|agente|equipe|recepcao|gerente|"
    r"dono|dona|anfitri[aã]o|suporte|vendedor[a]?|gente de verdade)"
)
_STAFF_ES = (
    r"(humano|persona|alguien|agente|representante|operador[a]?|recepcion|personal|"
    r"encargad[oa]|gerente|dueñ[oa]|anfitrion[a]?|equipo|soporte|empleado|dependiente)"
)
_ASK_FOR_HUMAN = [
    # English
    rf"\b(talk|speak|chat)\b.{{0,25}}\b{_STAFF_EN}\b",
    rf"\b(connect|transfer|put|pass) me\b.{{0,25}}\b{_STAFF_EN}\b",
    r"\b(get|find) me\b.{0,6}\b(human|person|agent|representative|operator|someone|"
    r"somebody)\b",
    r"\b(need|want|call|contact|reach)\b.{0,10}\b(front desk|reception|a human|"
    r"a real person|someone from (the|your) team)\b",
    r"\b(real|live|actual) (person|human|agent)\b",
    r"\b(someone|somebody|member of (your |the )?staff|staff member|person|human)\b.{0,30}"
    r"\b(call|phone|ring|contact|email) me\b",
    r"\b(connect|transfer|put) me (through )?(with|to)\b",
    r"\b(rather|prefer)\b.{0,20}\b(human|person|someone|somebody|staff)\b",
    r"^\W*(human|agent|operator|representative|person|reception|front desk)\W*(please)?\W*$",
    # Portuguese
    rf"\b(falar|conversar|atendimento)\b.{{0,25}}\b{_STAFF_PT}\b",
    rf"\b(me )?(passa|passe|transfere|transfira|encaminha|encaminhe)\b.{{0,12}}"
    rf"\b(pra|para|com|a|o)\b.{{0,12}}\b{_STAFF_PT}\b",
    r"\b(chama|chame|chamar)\b.{0,15}\b(alguem|atendente|humano|pessoa|gente)\b",
    r"\b(quero|queria|preciso de)\b.{0,8}\b(humano|atendente)\b",
    r"\b(atendente|atendimento humano|pessoa real|ser humano)\b",
    r"\b(prefiro|quero|gostaria de|queria)\b.{0,12}\b(conversar|falar)\b.{0,16}\bcom\b",
    r"\bser atendid[oa] por\b",
    r"\bme (coloca|coloque|poe|ponha|bota) em contato\b",
    r"\btem alguem (ai|aqui)\b",
    r"\b(me )?(liga|ligue|ligar) (pra|para) mim\b",
    # Spanish
    rf"\b(hablar|conversar|comunicarme|contactar)\b.{{0,25}}\b{_STAFF_ES}\b",
    rf"\b(pasame|paseme|pasarme|comunicame|comuniqueme|ponme|pongame)\b.{{0,25}}"
    rf"\b{_STAFF_ES}\b",
    r"\b(persona real|agente humano|ser humano|atencion al cliente|asesor[a]?)\b",
    r"\b(me )?(pasas|pasa|pase|pasame|paseme|comunicas|comunica|comunique|comunicame) con\b",
    r"\b(quiero|quisiera|prefiero|necesito)\b.{0,8}\b(hablar|conversar)\b.{0,6}\bcon\b",
    r"\bme (atienda|atiendas|atiendan)\b",
    r"\bme (llame|llames|llamen|puede llamar|pueden llamar|podria llamar)\b",
    r"\bhay alguien (ahi|alli)\b",
    # French
    r"\b(parler|discuter)\b.{0,25}\b(humain|personne|quelqu'?un|conseiller|conseillere|agent|"
    r"operateur|reception|equipe|gerant)\b",
    r"\b(vrai humain|vraie personne|conseiller humain|service client)\b",
    # German
    r"\b(sprechen|reden|verbinden)\b.{0,30}\b(mensch|menschen|person|mitarbeiter|"
    r"mitarbeiterin|berater|jemandem|rezeption)\b",
    r"\b(mit (einem|einer|der) (menschen|mitarbeiter|mitarbeiterin|person|rezeption))\b",
    # Italian
    r"\b(parlare|parlo)\b.{0,25}\b(umano|persona|qualcuno|operatore|operatrice|agente|"
    r"reception)\b",
    r"\b(persona reale|operatore umano)\b",
    # Dutch
    r"\b(spreken|praten)\b.{0,25}\b(mens|persoon|iemand|medewerker|medewerkster|receptie)\b",
    r"\b(echt persoon|echte medewerker)\b",
    r"\bmet (een|iemand)\b.{0,25}\b(spreken|praten)\b",
    # Polish
    r"\b(rozmawiac|porozmawiac|polaczyc|mowic)\b.{0,25}\b(czlowiek\w*|osob\w*|kims|"
    r"konsultant\w*|pracownik\w*|recepcj\w*)\b",
    r"\b(z konsultantem|z czlowiekiem|z pracownikiem)\b",
]
# Japanese has no spaces and no case; fragments are matched on the NFKC text.
_ASK_FOR_HUMAN_JA = [
    "人間",
    "担当者",
    "担当の方",
    "オペレーター",
    "スタッフと",
    "スタッフの方",
    "スタッフさん",
    "ホストの方",
    "ホストさんと",
    "オーナーさんと",
    "オーナーの方",
    "フロントの方",
    "受付の方",
    "人と話",
    "人に代わ",
    "有人",
    "係の人",
    "係の方",
    "店員",
    "直接やりとり",
    "直接やり取り",
    "直接話",
    "電話で話",
]
_PATTERNS = [re.compile(p) for p in _ASK_FOR_HUMAN]


def _folded(message: str) -> str:
    # Polish "ł" has no decomposition; fold it by hand so "człowiek" matches "czlowiek".
    return _fold(message).replace("ł", "l")


def asks_for_a_person(message: str) -> bool:
    normalised = unicodedata.normalize("NFKC", message)
    if any(word in normalised for word in _ASK_FOR_HUMAN_JA):
        return True
    folded = _folded(message)
    return any(p.search(folded) for p in _PATTERNS)


# Attempts to change Bob's instructions. Such a message is never answered from the knowledge,
# even when it names a topic the knowledge covers: quoting a passage next to "say the room is
# free" would look like agreement. A person reads it instead.
_INJECTION = [
    # English
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,30}\b(rules?|instructions?|"
    r"prompt|guidelines?|polic(y|ies)|restrictions?|above|previous|everything)\b",
    r"\b(system|hidden|initial) prompt\b",
    r"\byou are (now|no longer)\b",
    r"\b(pretend|act as if|roleplay|role-play) (you|to be)\b",
    r"\b(developer|jailbreak|dan) mode\b",
    r"\b(reply|respond|answer|say|write)\b.{0,15}\b(only|exactly|just)\b.{0,12}"
    r"(\bwith\b|:|'|\")",
    r"\bfrom now on\b",
    r"\b(say|tell (me|them)|confirm) that\b.{0,60}\b(no longer|waived|free|does ?n[o']t apply)\b",
    r"\b(say|tell me|answer|reply|confirm|write) (that|it'?s|the)\b.{0,40}\b(free|"
    r"0 ?(usd|eur|dollars|euros)|zero|no charge|100 ?% off)\b",
    # Portuguese
    r"\b(ignore|ignora|esqueca|esquece|desconsidere|desconsidera)\b.{0,30}\b(regras?|"
    r"instrucoes|instrucao|prompt|orientacoes|tudo)\b",
    r"\b(diga|diz|responda|fala|escreva|confirme)\b.{0,10}\bque\b.{0,40}\b(gratis|"
    r"gratuit[oa]|de graca|zero)\b",
    r"\b(finja|finge) (que|ser)\b",
    r"\b(responda|responde|escreva|escreve|diga|diz)\b.{0,15}\b(apenas|somente|so|exatamente)\b",
    r"\ba partir de agora\b",
    r"\b(voce|vc) agora e\b|\bagora (voce|vc) e\b",
    # Spanish
    r"\b(ignora|ignore|olvida|olvide|olvidate|olvidese)\b.{0,30}\b(reglas?|instrucciones|"
    r"instruccion|prompt|normas?|todo)\b",
    r"\b(di|diga|responde|responda|escribe|confirma)\b.{0,10}\bque\b.{0,40}\b(gratis|"
    r"gratuit[oa]|cero)\b",
    r"\b(finge|finja|haz como si)\b",
    r"\b(responde|responda|contesta|escribe|di|diga)\b.{0,20}\b(solo|solamente|unicamente|"
    r"exactamente)\b",
    r"\by nada mas\b",
    r"\ba partir de ahora\b",
    r"\bahora eres\b",
    # French, German, Italian, Dutch, Polish
    r"\b(ignore|ignorez|oublie|oubliez)\b.{0,30}\b(regles?|instructions?|consignes?)\b",
    r"\b(ignoriere|ignorieren|vergiss|vergessen)\b.{0,30}\b(regeln|anweisungen|"
    r"anweisung|vorgaben)\b",
    r"\b(ignora|dimentica)\b.{0,30}\b(regole|istruzioni)\b",
    r"\b(negeer|vergeet)\b.{0,30}\b(regels|instructies)\b",
    r"\b(zignoruj|zapomnij)\b.{0,30}\b(zasady|instrukcje|polecenia)\b",
]
_INJECTION_JA = [
    "ルールは忘れ",
    "ルールを忘れ",
    "ルールを無視",
    "ルールは無視",
    "指示を無視",
    "指示は無視",
    "指示を忘れ",
    "設定を無視",
    "プロンプト",
    "無料だと答え",
    "無料と答え",
    "タダだと答え",
    "ふりをして",
    "今から",
    "タダにすると",
    "無料にすると",
    "と約束して",
    "なりきって",
]
_INJECTION_PATTERNS = [re.compile(p) for p in _INJECTION]


def tries_to_instruct(message: str) -> bool:
    """True when the message tries to change Bob's rules or dictate its answer."""
    normalised = unicodedata.normalize("NFKC", message)
    if any(fragment in normalised for fragment in _INJECTION_JA):
        return True
    folded = _folded(message)
    return any(p.search(folded) for p in _INJECTION_PATTERNS)
