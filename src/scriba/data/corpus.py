"""Texts for synthetic handwriting: a user's corpus file, or built-in defaults that need no data.

The defaults are English words by frequency from ``wordfreq`` (styled into words and lines with
mixed case, digits and punctuation) and a built-in list of common French first names and surnames
in capitals, like the NOM / PRENOM fields of the Kaggle names forms.
"""

from __future__ import annotations

import logging
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from scriba.data.sources.table import read_csv_table
from scriba.errors import DataFormatError

log = logging.getLogger(__name__)

# The Kaggle names charset; other texts stay within printable ASCII.
NAME_CHARS = string.ascii_uppercase + " -'"
TEXT_CHARS = string.ascii_letters + string.digits + " .,;:!?'\"-()&/"

FIRST_NAMES = """
JEAN PIERRE MICHEL ANDRE PHILIPPE ALAIN NICOLAS CHRISTOPHE PATRICK DANIEL BERNARD FREDERIC LAURENT ERIC
STEPHANE DAVID OLIVIER SEBASTIEN JULIEN THOMAS ALEXANDRE ANTOINE MAXIME HUGO LUCAS LOUIS GABRIEL RAPHAEL
ARTHUR JULES ADAM PAUL NATHAN ETHAN TOM THEO MATHIS ENZO NOLAN NOAH LEO MAEL SACHA TIMEO CLEMENT ROMAIN
QUENTIN KEVIN VINCENT FRANCOIS GUILLAUME BENJAMIN MATHIEU YANN CEDRIC JEROME FABIEN DAMIEN ARNAUD XAVIER
BAPTISTE VICTOR VALENTIN BASTIEN MARTIN SIMON AXEL YANIS ILYES RAYAN MOHAMED KARIM MEHDI SAMIR BILEL ELIAS
NOE ROBIN MAXENCE GAETAN LOIC MATTEO EVAN TRISTAN DYLAN JORDAN ANTHONY BRYAN YOUSSEF AMINE IBRAHIMA MOUSSA
JEAN-PIERRE JEAN-LUC JEAN-MARC JEAN-FRANCOIS JEAN-CLAUDE JEAN-PAUL JEAN-ROCH PIERRE-YVES MARIE NATHALIE
ISABELLE SYLVIE CATHERINE FRANCOISE MARTINE CHRISTINE MONIQUE VALERIE SANDRINE CELINE STEPHANIE AURELIE
JULIE CAMILLE EMMA JADE LOUISE ALICE CHLOE LINA LEA MANON INES SARAH CLARA ZOE ROSE ANNA LOLA JULIETTE LENA
MILA AMBRE AGATHE EVA LOU NINA ROMANE MARGAUX PAULINE LAURA MARINE ELODIE EMILIE AUDREY CHARLOTTE MATHILDE
LUCIE OCEANE ELISE CLEMENCE ANAIS MARION MELANIE CAROLINE HELENE SOPHIE AGNES BRIGITTE ODILE YASMINE SAMIRA
FATIMA AICHA JOSEPHINE GAELLE SOLENE MAELYS LOANE LOGANE ELOISE APOLLINE CAPUCINE CELESTE LISA ANGELE LEONIE
MARIE-CLAIRE ANNE-SOPHIE MARIE-LAURE ANNE-MARIE MARIE-HELENE MARIE-CHRISTINE KIMBERLEY OPHELIE ESTELLE
"""

SURNAMES = """
MARTIN BERNARD THOMAS PETIT ROBERT RICHARD DURAND DUBOIS MOREAU LAURENT SIMON MICHEL LEFEBVRE LEROY ROUX
DAVID BERTRAND MOREL FOURNIER GIRARD BONNET DUPONT LAMBERT FONTAINE ROUSSEAU VINCENT MULLER LEFEVRE FAURE
ANDRE MERCIER BLANC GUERIN BOYER GARNIER CHEVALIER FRANCOIS LEGRAND GAUTHIER GARCIA PERRIN ROBIN CLEMENT
MORIN NICOLAS HENRY ROUSSEL MATHIEU GAUTIER MASSON MARCHAND DUVAL DENIS DUMONT LEMAIRE NOEL MEYER DUFOUR
MEUNIER BRUN BLANCHARD GIRAUD JOLY RIVIERE LUCAS BRUNET GAILLARD BARBIER ARNAUD MARTINEZ GERARD ROCHE RENARD
SCHMITT ROY LEROUX COLIN VIDAL CARON PICARD ROGER FABRE AUBERT LEMOINE RENAUD DUMAS LACROIX OLIVIER PHILIPPE
BOURGEOIS PIERRE BENOIT REY LECLERC PAYET ROLLAND LECLERCQ GUILLAUME LECOMTE LOPEZ JEAN DUPUY GUILLOT HUBERT
BERGER CARPENTIER SANCHEZ DUPUIS MOULIN LOUIS DESCHAMPS HUET VASSEUR PEREZ BOUCHER FLEURY ROYER KLEIN JACQUET
ADAM PARIS POIRIER MARTY AUBRY GUYOT CARRE CHARLES RENAULT CHARPENTIER MENARD MAILLARD BARON BERTIN BAILLY
HERVE SCHNEIDER FERNANDEZ COLLET LEGER BOUVIER JULIEN PREVOST MILLET PERROT DANIEL COUSIN GERMAIN BRETON
BESSON LANGLOIS REMY PELLETIER LEVEQUE PERRIER LEBLANC BARRE LEBRUN MARCHAL WEBER MALLET HAMON BOULANGER
JACOB MONNIER MICHAUD RODRIGUEZ GUICHARD GILLET ETIENNE GRONDIN POULAIN TESSIER CHEVALLIER COLLIN CHAUVIN
BOUCHET GAY LEMAITRE BENARD MARECHAL HUMBERT REYNAUD ANTOINE HOARAU PERRET BARTHELEMY CORDIER PICHON LEJEUNE
GILBERT LAMY DELAUNAY PASQUIER CARLIER LAPORTE LAUMONIER TRAORE DIALLO KONATE BENALI HADDAD NGUYEN TRAN
SAINT-MARTIN SAINT-JEAN LEFORT-DUVAL
"""

# Names with a space or an apostrophe, which a whitespace-split list cannot hold.
SPACED_NAMES = ("LE GALL", "LE ROUX", "LE GOFF", "DA SILVA", "DE SOUSA", "N'DIAYE", "D'ALMEIDA", "LA LOVE")

# wordfreq counts web text: its top words include slurs and profanity. Synthetic samples end up in
# contact sheets, reports and model cards, so the default English corpus leaves these out.
EXCLUDED_WORDS = frozenset(
    """
fuck fucking fucked fucker fuckin motherfucker shit shitty bullshit bitch bitches cunt nigga niggas nigger negro
faggot fag retard retarded whore slut dick dicks cock pussy asshole bastard porn porno tits boobs cum dildo rape
raped rapist dyke homo
""".split()  # noqa: SIM905 (one word list, written like the name lists above)
)


@dataclass(frozen=True)
class Corpus:
    """Distinct texts with sampling probabilities.

    Attributes:
        texts: the distinct texts.
        weights: (len(texts),) float64 probabilities summing to 1.
    """

    texts: tuple[str, ...]
    weights: np.ndarray
    _cumulative: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Kept for sample(): rng.choice(p=...) would rebuild the cumulative sum on every call.
        object.__setattr__(self, "_cumulative", np.cumsum(self.weights))

    @classmethod
    def from_counts(cls, counts: dict[str, float]) -> Corpus:
        """A corpus sampling each text in proportion to its count."""
        texts = tuple(counts)
        weights = np.array([counts[t] for t in texts], np.float64)
        return cls(texts, weights / weights.sum() if len(weights) else weights)

    def __len__(self) -> int:
        return len(self.texts)

    def sample(self, rng: np.random.Generator) -> str:
        """One text, drawn by weight."""
        index = int(np.searchsorted(self._cumulative, rng.random() * self._cumulative[-1], side="right"))
        return self.texts[min(index, len(self.texts) - 1)]

    def filter(self, keep: Callable[[str], bool]) -> Corpus:
        """The texts for which ``keep`` is true, their weights renormalized."""
        return Corpus.from_counts({t: float(w) for t, w in zip(self.texts, self.weights, strict=True) if keep(t)})

    def map(self, change: Callable[[str], str]) -> Corpus:
        """Every text changed by ``change``; texts that become equal add their weights."""
        counts: dict[str, float] = {}
        for text, weight in zip(self.texts, self.weights, strict=True):
            counts[change(text)] = counts.get(change(text), 0.0) + float(weight)
        return Corpus.from_counts(counts)


def read_corpus(path: Path | str) -> Corpus:
    """Read a corpus file: a CSV/TSV with a ``text`` column, or any other file with one text per line.

    Repeated texts are sampled more often (a names lexicon with repeats keeps its frequencies);
    surrounding spaces are stripped and empty texts skipped.

    Raises:
        DataFormatError: the file is missing, unreadable, lacks a ``text`` column or holds no text.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(f"corpus not found: {path}")
    if path.suffix.lower() in (".csv", ".tsv", ".tab"):
        texts: Iterable[object] = read_csv_table(path, ("text",))["text"]
    else:
        try:
            texts = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as err:
            raise DataFormatError(f"corpus {path} is not UTF-8 text: {err}") from err
    counts = Counter(s for t in texts if t is not None and (s := str(t).strip()))
    if not counts:
        raise DataFormatError(f"corpus {path} holds no text")
    return Corpus.from_counts(dict(counts))


def name_corpus() -> Corpus:
    """The built-in French first names and surnames, in capitals, equally likely."""
    names = FIRST_NAMES.split() + SURNAMES.split() + list(SPACED_NAMES)
    return Corpus.from_counts(dict.fromkeys(names, 1.0))


@lru_cache(maxsize=4)
def word_corpus(top_n: int = 20000, alpha: float = 0.5) -> Corpus:
    """The ``top_n`` most frequent English words (lowercase letters and inner apostrophes).

    Args:
        top_n: how many of wordfreq's most frequent words to consider.
        alpha: weights are frequency ** alpha; raw Zipf frequencies (alpha 1) would make "the"
            about one sample in twenty.
    """
    import wordfreq

    words = [
        w
        for w in wordfreq.top_n_list("en", top_n)
        if re.fullmatch(r"[a-z]+(?:'[a-z]+)?", w) and w not in EXCLUDED_WORDS
    ]
    # wordfreq lowercases everything; the pronoun (and "i'm", "i'll") keeps its capital.
    shown = {w: "I" + w[1:] if w == "i" or w.startswith("i'") else w for w in words}
    return Corpus.from_counts({shown[w]: wordfreq.word_frequency(w, "en") ** alpha for w in words})


def _number(rng: np.random.Generator) -> str:
    kind = rng.integers(4)
    if kind == 0:
        return str(int(rng.integers(1900, 2030)))  # a year
    if kind == 1:
        return f"{int(rng.integers(1, 100))}.{int(rng.integers(0, 100)):02d}"
    return str(int(rng.integers(0, 10 ** int(rng.integers(1, 4)))))


def style_word(word: str, rng: np.random.Generator) -> str:
    """A word as people write it alone: mostly as is, some capitalized or in capitals, a few numbers."""
    roll = rng.random()
    if roll < 0.05:
        return _number(rng)
    if roll < 0.30:
        return word[:1].upper() + word[1:]
    if roll < 0.38:
        return word.upper()
    return word


def compose_line(words: Corpus, rng: np.random.Generator, min_words: int = 3, max_words: int = 8) -> str:
    """A line of text: a capitalized first word, some commas, numbers and proper nouns, an end mark."""
    count = int(rng.integers(min_words, max_words + 1))
    tokens = []
    for i in range(count):
        token = _number(rng) if rng.random() < 0.05 else words.sample(rng)
        if i == 0 or rng.random() < 0.08:
            token = token[:1].upper() + token[1:]
        if i < count - 1 and rng.random() < 0.08:
            token += str(rng.choice([",", ",", ";", ":"]))
        tokens.append(token)
    return " ".join(tokens) + str(rng.choice([".", ".", ".", "", "!", "?"]))
