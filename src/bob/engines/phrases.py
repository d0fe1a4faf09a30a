"""The fixed sentences Bob says itself, in the persona's voice and the visitor's language.

These are the only words Bob produces without a source: handing over, admitting it has no
answer, apologising for a failure, and introducing passages it quotes. Keeping them here, written
by people, means no language model ever improvises them.
"""

# Native punctuation (dashes, full-width Japanese marks) is intended, not a look-alike.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from babel import Locale, UnknownLocaleError

from bob.engines.base import PersonaView

SUPPORTED_LANGUAGES = ("en", "pt", "es", "fr", "de", "it", "nl", "pl", "ja")
DEFAULT_LANGUAGE = "en"

Register = Literal["formal", "friendly"]

# Whole words only, so "informal" / "informell" / "nieformalny" stay friendly.
_FORMAL_WORDS = frozenset(
    {
        "formal",
        "formally",
        "professional",
        "corporate",
        "businesslike",
        "förmlich",
        "formell",
        "sachlich",
        "professionell",
        "formel",
        "formelle",
        "professionnel",
        "professionnelle",
        "formale",
        "professionale",
        "profesional",
        "profissional",
        "formeel",
        "zakelijk",
        "professioneel",
        "formalny",
        "formalna",
        "formalne",
        "profesjonalny",
        "profesjonalna",
        "profesjonalne",
    }
)
# Japanese has no spaces between words, so these are matched as substrings.
_FORMAL_FRAGMENTS = ("フォーマル", "丁寧", "敬語", "ビジネス", "正式")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class _Sentences:
    handoff: str
    no_answer: str
    engine_failure: str
    answer_intro: str


_SENTENCES: dict[str, dict[Register, _Sentences]] = {
    "en": {
        "formal": _Sentences(
            handoff="Certainly. This is {name}: I am connecting you with a member of our team, "
            "who will reply to you here.",
            no_answer="This is {name}. I do not have a reliable answer to that question, so I am "
            "passing it to a member of our team, who will reply to you here.",
            engine_failure="This is {name}. We are experiencing a temporary technical problem; "
            "a member of our team will follow up with you here.",
            answer_intro="Here is the relevant information I found:",
        ),
        "friendly": _Sentences(
            handoff="Sure! I'm {name}, and I'm getting someone from the team for you. "
            "They'll reply right here.",
            no_answer="I'm {name}, and I don't have a good answer to that one, so I'm passing "
            "your question to someone on the team. They'll reply right here.",
            engine_failure="Sorry, I'm {name} and I've hit a temporary problem. Someone from the "
            "team will follow up with you right here.",
            answer_intro="Here's what I found:",
        ),
    },
    "pt": {
        "formal": _Sentences(
            handoff="Certamente. Aqui é {name}: estou encaminhando sua conversa para um membro "
            "da nossa equipe, que responderá por aqui.",
            no_answer="Aqui é {name}. Não tenho uma resposta confiável para essa pergunta, por "
            "isso vou encaminhá-la a um membro da nossa equipe, que responderá por aqui.",
            engine_failure="Aqui é {name}. Estamos enfrentando um problema técnico temporário; "
            "um membro da nossa equipe dará continuidade ao seu atendimento por aqui.",
            answer_intro="Segue a informação relevante que encontrei:",
        ),
        "friendly": _Sentences(
            handoff="Claro! Sou {name} e já vou chamar alguém da equipe para você. Essa pessoa "
            "vai responder aqui mesmo.",
            no_answer="Sou {name} e não tenho uma boa resposta para isso, então vou passar sua "
            "pergunta para alguém da equipe. Essa pessoa vai responder aqui mesmo.",
            engine_failure="Desculpe, sou {name} e tive um problema temporário. Alguém da equipe "
            "vai continuar o atendimento com você aqui mesmo.",
            answer_intro="Olha o que eu encontrei:",
        ),
    },
    "es": {
        "formal": _Sentences(
            handoff="Por supuesto. Soy {name} y le pongo en contacto con un miembro de nuestro "
            "equipo, que le responderá aquí mismo.",
            no_answer="Soy {name}. No dispongo de una respuesta fiable a su pregunta, por lo que "
            "la trasladaré a un miembro de nuestro equipo, que le responderá aquí mismo.",
            engine_failure="Soy {name}. Estamos teniendo un problema técnico temporal; un miembro "
            "de nuestro equipo le atenderá aquí mismo.",
            answer_intro="Esta es la información pertinente que he encontrado:",
        ),
        "friendly": _Sentences(
            handoff="¡Claro! Soy {name} y ya te paso con alguien del equipo. Te responderá aquí "
            "mismo.",
            no_answer="Soy {name} y no tengo una buena respuesta para eso, así que le paso tu "
            "pregunta a alguien del equipo. Te responderá aquí mismo.",
            engine_failure="Perdona, soy {name} y he tenido un problema temporal. Alguien del "
            "equipo te escribirá aquí mismo.",
            answer_intro="Esto es lo que encontré:",
        ),
    },
    "fr": {
        "formal": _Sentences(
            handoff="Bien entendu. Je suis {name} et je vous mets en relation avec un membre de "
            "notre équipe, qui vous répondra ici.",
            no_answer="Je suis {name}. Je ne dispose pas d'une réponse fiable à votre question ; "
            "je la transmets donc à un membre de notre équipe, qui vous répondra ici.",
            engine_failure="Je suis {name}. Nous rencontrons un problème technique temporaire ; "
            "un membre de notre équipe reviendra vers vous ici.",
            answer_intro="Voici les informations pertinentes que j'ai trouvées :",
        ),
        "friendly": _Sentences(
            handoff="Pas de souci ! Moi, c'est {name}. Je préviens quelqu'un de l'équipe, qui "
            "vous répondra ici même.",
            no_answer="Moi, c'est {name}, et je n'ai pas de bonne réponse à ça, alors je transmets "
            "votre question à quelqu'un de l'équipe. On vous répondra ici même.",
            engine_failure="Oups, ici {name} : j'ai un petit souci technique passager. Quelqu'un "
            "de l'équipe reviendra vers vous ici même.",
            answer_intro="Voici ce que j'ai trouvé :",
        ),
    },
    "de": {
        "formal": _Sentences(
            handoff="Selbstverständlich. Ich bin {name} und verbinde Sie mit einem Mitglied "
            "unseres Teams, das Ihnen hier antworten wird.",
            no_answer="Ich bin {name}. Auf diese Frage habe ich keine verlässliche Antwort, daher "
            "leite ich sie an ein Mitglied unseres Teams weiter, das Ihnen hier antworten wird.",
            engine_failure="Ich bin {name}. Es gibt derzeit ein vorübergehendes technisches "
            "Problem; ein Mitglied unseres Teams wird sich hier bei Ihnen melden.",
            answer_intro="Folgende relevante Informationen habe ich gefunden:",
        ),
        "friendly": _Sentences(
            handoff="Klar! Ich bin {name} und hole dir jemanden aus dem Team dazu. Die Antwort "
            "bekommst du direkt hier.",
            no_answer="Ich bin {name} und habe darauf leider keine gute Antwort, deshalb gebe ich "
            "deine Frage an jemanden aus dem Team weiter. Die Antwort bekommst du direkt hier.",
            engine_failure="Entschuldige, hier ist {name} – ich habe gerade ein vorübergehendes "
            "Problem. Jemand aus dem Team meldet sich hier bei dir.",
            answer_intro="Das habe ich gefunden:",
        ),
    },
    "it": {
        "formal": _Sentences(
            handoff="Certamente. Sono {name} e la metto in contatto con un membro del nostro "
            "team, che le risponderà qui.",
            no_answer="Sono {name}. Non dispongo di una risposta affidabile a questa domanda, "
            "quindi la inoltro a un membro del nostro team, che le risponderà qui.",
            engine_failure="Sono {name}. Stiamo riscontrando un problema tecnico temporaneo; un "
            "membro del nostro team la ricontatterà qui.",
            answer_intro="Ecco le informazioni pertinenti che ho trovato:",
        ),
        "friendly": _Sentences(
            handoff="Certo! Sono {name} e ti metto subito in contatto con qualcuno del team. Ti "
            "risponderà proprio qui.",
            no_answer="Sono {name} e non ho una buona risposta a questa domanda, quindi la passo "
            "a qualcuno del team. Ti risponderà proprio qui.",
            engine_failure="Scusa, sono {name} e ho un problema temporaneo. Qualcuno del team ti "
            "risponderà proprio qui.",
            answer_intro="Ecco cosa ho trovato:",
        ),
    },
    "nl": {
        "formal": _Sentences(
            handoff="Uiteraard. Ik ben {name} en ik breng u in contact met een medewerker van "
            "ons team, die u hier zal antwoorden.",
            no_answer="Ik ben {name}. Ik heb geen betrouwbaar antwoord op deze vraag, daarom "
            "stuur ik deze door naar een medewerker van ons team, die u hier zal antwoorden.",
            engine_failure="Ik ben {name}. Er is momenteel een tijdelijk technisch probleem; een "
            "medewerker van ons team neemt hier contact met u op.",
            answer_intro="Dit is de relevante informatie die ik heb gevonden:",
        ),
        "friendly": _Sentences(
            handoff="Tuurlijk! Ik ben {name} en ik haal er iemand van het team bij. Je krijgt "
            "hier antwoord.",
            no_answer="Ik ben {name} en ik heb hier geen goed antwoord op, dus ik geef je vraag "
            "door aan iemand van het team. Je krijgt hier antwoord.",
            engine_failure="Sorry, ik ben {name} en ik heb even een tijdelijk probleem. Iemand "
            "van het team komt hier bij je terug.",
            answer_intro="Dit heb ik gevonden:",
        ),
    },
    "pl": {
        # Phrased without past-tense first person, which Polish would mark for gender.
        "formal": _Sentences(
            handoff="Oczywiście. Nazywam się {name} i przekazuję rozmowę członkowi naszego "
            "zespołu, który odpowie w tym miejscu.",
            no_answer="Nazywam się {name}. Nie mam wiarygodnej odpowiedzi na to pytanie, dlatego "
            "przekazuję je członkowi naszego zespołu, który odpowie w tym miejscu.",
            engine_failure="Nazywam się {name}. Wystąpił tymczasowy problem techniczny; członek "
            "naszego zespołu odpowie w tym miejscu.",
            answer_intro="Oto istotne informacje, które udało mi się znaleźć:",
        ),
        "friendly": _Sentences(
            handoff="Jasne! Jestem {name} i już wołam kogoś z zespołu. Odpowiedź dostaniesz tutaj.",
            no_answer="Jestem {name} i nie mam dobrej odpowiedzi na to pytanie, więc przekazuję "
            "je komuś z zespołu. Odpowiedź dostaniesz tutaj.",
            engine_failure="Przepraszam, tu {name} – mam chwilowy problem. Ktoś z zespołu odezwie "
            "się do ciebie tutaj.",
            answer_intro="Oto, co udało mi się znaleźć:",
        ),
    },
    "ja": {
        "formal": _Sentences(
            handoff="かしこまりました。{name}です。担当者におつなぎいたします。"
            "担当者よりこちらでご返信いたします。",
            no_answer="{name}です。このご質問には確実な回答をご用意できないため、"
            "担当者に引き継がせていただきます。担当者よりこちらでご返信いたします。",
            engine_failure="{name}です。現在、一時的な技術的問題が発生しております。"
            "担当者よりこちらでご連絡いたします。",
            answer_intro="関連する情報は以下のとおりです：",
        ),
        "friendly": _Sentences(
            handoff="わかりました！{name}です。チームのスタッフにおつなぎしますね。"
            "こちらに返信が届きます。",
            no_answer="{name}です。その質問にはうまくお答えできないので、"
            "チームのスタッフに引き継ぎますね。こちらに返信が届きます。",
            engine_failure="ごめんなさい、{name}です。一時的な問題が起きています。"
            "チームのスタッフがこちらでフォローしますね。",
            answer_intro="見つかった情報はこちらです：",
        ),
    },
}


def language_of(tag: str | None) -> str:
    """The supported primary language for a tag such as "pt-BR", "ja_JP" or "EN"; else "en"."""
    if not tag:
        return DEFAULT_LANGUAGE
    primary = re.split(r"[-_]", tag.strip(), maxsplit=1)[0].lower()
    return primary if primary in _SENTENCES else DEFAULT_LANGUAGE


def register_of(persona: PersonaView) -> Register:
    tone = persona.tone.casefold()
    if any(fragment in tone for fragment in _FORMAL_FRAGMENTS):
        return "formal"
    if any(word in _FORMAL_WORDS for word in _WORD.findall(tone)):
        return "formal"
    return "friendly"


def _sentences(persona: PersonaView, language: str) -> _Sentences:
    return _SENTENCES[language_of(language)][register_of(persona)]


def _name(persona: PersonaView) -> str:
    # An unnamed persona would leave "I'm ," in the sentence.
    return persona.name.strip() or "Bob"


def handoff_message(persona: PersonaView, language: str) -> str:
    """The visitor asked for a person: one from the team will reply in this conversation."""
    return _sentences(persona, language).handoff.format(name=_name(persona))


def no_answer_message(persona: PersonaView, language: str) -> str:
    """Bob has no grounded answer, so it passes the question to a person."""
    return _sentences(persona, language).no_answer.format(name=_name(persona))


def engine_failure_message(persona: PersonaView, language: str) -> str:
    """The engine failed; a person will follow up."""
    return _sentences(persona, language).engine_failure.format(name=_name(persona))


# Said after the intro when the quoted text is in another language than the visitor's.
_QUOTED_IN = {
    "en": "(The text below is in {language}.)",
    "pt": "(O texto abaixo está em {language}.)",
    "es": "(El texto de abajo está en {language}.)",
    "fr": "(Le texte ci-dessous est en {language}.)",
    "de": "(Der folgende Text ist auf {language}.)",
    "it": "(Il testo qui sotto è in {language}.)",
    "nl": "(De tekst hieronder is in het {language}.)",
    "pl": "(Poniższy tekst jest w języku: {language}.)",
    "ja": "(以下は{language}の原文です。)",
}


def answer_intro(persona: PersonaView, language: str, *, quoted_language: str | None = None) -> str:
    """The sentence before quoted passages in an extractive answer; it names the passages'
    language when the visitor wrote in another one."""
    intro = _sentences(persona, language).answer_intro
    visitor = language_of(language)
    if quoted_language is None or language_of(quoted_language) == visitor:
        return intro
    try:
        name = Locale.parse(visitor).languages.get(quoted_language.split("-")[0].lower())
    except (ValueError, UnknownLocaleError):
        name = None
    if not name:
        return intro
    return f"{intro} {_QUOTED_IN[visitor].format(language=name)}"


# When a business has run out of AI credits and chose "message_only": a polite sentence, no
# handoff (nobody may be watching the queue), in one register since it is the same for all.
_UNAVAILABLE = {
    "en": "I'm {name}. I can't answer new questions right now. Please try again later, or "
    "contact the team directly.",
    "pt": "Sou {name}. No momento não consigo responder a novas perguntas. Tente novamente mais "
    "tarde ou fale diretamente com a equipe.",
    "es": "Soy {name}. En este momento no puedo responder nuevas preguntas. Inténtalo más tarde "
    "o contacta directamente con el equipo.",
    "fr": "Je suis {name}. Je ne peux pas répondre à de nouvelles questions pour le moment. "
    "Réessayez plus tard ou contactez directement l'équipe.",
    "de": "Ich bin {name}. Im Moment kann ich keine neuen Fragen beantworten. Bitte versuchen "
    "Sie es später erneut oder wenden Sie sich direkt an das Team.",
    "it": "Sono {name}. Al momento non posso rispondere a nuove domande. Riprova più tardi o "
    "contatta direttamente il team.",
    "nl": "Ik ben {name}. Op dit moment kan ik geen nieuwe vragen beantwoorden. Probeer het "
    "later opnieuw of neem rechtstreeks contact op met het team.",
    "pl": "Jestem {name}. W tej chwili nie mogę odpowiadać na nowe pytania. Spróbuj ponownie "
    "później lub skontaktuj się bezpośrednio z zespołem.",
    "ja": "{name}です。現在、新しいご質問にお答えできません。しばらくしてから再度お試しいただくか、"
    "スタッフへ直接お問い合わせください。",
}


def unavailable_message(persona: PersonaView, language: str) -> str:
    """The business is out of AI credits and asked Bob to say so without handing over."""
    return _UNAVAILABLE[language_of(language)].format(name=_name(persona))
