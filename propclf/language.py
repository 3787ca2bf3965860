"""Which known words count towards vocabulary coverage: the model's English, not other languages'.

The vocabulary coverage (:meth:`propclf.model.PropagandaClassifier.coverage`) is the share of a
text's words that the model has unigram features for; a text of other-language words gets a
warning. The training corpora are not purely English: a fifth of the IS-supporter tweets are in
other languages, French above all, so the vocabulary knows everyday French words, and an
everyday French sentence reached a coverage of 0.77-0.86 and passed unwarned. The words below
are the commonest function words (articles, pronouns, prepositions, conjunctions, auxiliaries)
of French, Spanish, Portuguese, Italian, German, Dutch, Indonesian and Turkish. They still weigh
in the score as features; they only do not count as *known* words.

A word is listed only when English text hardly uses it. Left out for that reason: ``die``,
``den``, ``am``, ``van``, ``non``, ``con``, ``sin``, ``son``, ``hat``, ``fur`` (German *für*),
``per``, ``plus``, ``do``, ``um``, ``et`` (*et al.*), ``un`` (the UN), ``uber``, ``dem``,
names (``ben``, ``dan``, ``ada``, ``sen``), ``bu`` (Boston University in the crisis tweets),
words that English contractions become (``im``, ``dont``), ``de`` (informal English for
*the*), and ``da``, ``ne`` and ``ke``, which are also Punjabi, Hindi and Urdu function words in
everyday code-mixed English ("Waheguru ji da shukar"). Tokens are the model's: lower case,
accents folded (``très`` is ``tres``), apostrophes dropped (``c'était`` is ``cetait``).
``python benchmarks/language.py`` checks that no training corpus has more than 0.5% of its
English records warned.
"""

from __future__ import annotations

__all__ = ["OTHER_LANGUAGE_WORDS"]

_FRENCH = """
la le les des du une est sont ont avons avez etait etaient ete sera nous vous ils elle elles
je avec pour dans sur qui mais ou au aux ces cette leur leurs tres tout toute tous toutes
notre nos votre vos sa ses ce cet pas lui comme sans chez entre aussi apres avant
selon depuis contre quand parce lors cest quil quils
"""
_SPANISH = """
los las una uno por para que del el es en lo sus pero muy como mas este esta estos estas
ese esa fue hay ser tambien porque cuando donde hasta desde todo todos nuestro nuestra
nosotros ellos ella sobre entre tiene tienen han hemos
"""
_PORTUGUESE = """
os uma nao com dos das em ao aos muito foi sao seu sua ele ela eles elas nos pelo
pela voce isso isto tem
"""
_ITALIAN = """
il gli della delle dello degli che sono anche piu questo questa nel nella alla dal
dalla sul sulla di
"""
_GERMAN = """
und der das ist nicht ein eine einen einem mit sie wir ich auf auch sich des zu von
wird werden nach bei aus noch wie oder aber nur sind haben dass wenn kein keine unser
unsere euch ihr ihre es
"""
_DUTCH = """
het een zijn niet ook maar voor wij naar bij deze worden wordt heeft hebben
"""
_INDONESIAN = """
yang ini itu dengan untuk tidak dari dalam akan pada juga kami kita mereka saya
sudah bisa atau karena
"""
_TURKISH = """
ve bir icin ile cok daha olarak gibi kadar sonra var yok onlar
"""

#: Common function words of other languages that the corpora taught the vocabulary.
OTHER_LANGUAGE_WORDS: frozenset[str] = frozenset(
    " ".join(
        (_FRENCH, _SPANISH, _PORTUGUESE, _ITALIAN, _GERMAN, _DUTCH, _INDONESIAN, _TURKISH)
    ).split()
)
