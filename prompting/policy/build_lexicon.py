"""Builds the name lexicon in `data/` from two PyPI packages; run by hand, not at run time.

    .venv/bin/python -m prompting.policy.build_lexicon

Why a derived file instead of the packages at run time: `names-dataset` has to unpickle
all 1.5M names of 105 countries to answer anything (~0.9 GB and 6 s here; 3.2 GB by its
own account), which a worker cannot afford; the subset below is ~1 MB and loads in
~0.1 s. The packages are in requirements-dev.txt, so anyone can rebuild and diff.

- first names: `names-dataset` first names ranked in the top FIRST_RANK of any of its
  105 countries (`gender-guesser`'s list was considered and left out: its data is
  under the GNU FDL, which a derived file would inherit);
- last names: `names-dataset` last names ranked in the top LAST_RANK of any country;
- common words: the COMMON_WORDS most frequent English words of `wordfreq`, minus
  words that are mostly names (very popular first or last names in English-speaking
  countries, e.g. "john", "smith"), plus everyday words that are also names
  (ENGLISH_WORDS_THAT_ARE_NAMES: "will", "mark"), so lower-case prose is not
  mistaken for names.

Everything is folded the way `names.fold` folds text: case-folded, accents removed.
"""

from __future__ import annotations

import gzip
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .lexicon import DATA_DIR, NameLexicon, fold, is_name_word

FIRST_RANK = 3000
LAST_RANK = 2000
COMMON_WORDS = 25_000
# Names in the top NAME_FIRST_RANK of a country that are outside the VERY_COMMON most
# frequent English words are names first: "olga", "o'connor", "mercedes" are in the top
# 25,000 because of the people. (Lower ranks hold junk: "Refund" is someone's name.)
VERY_COMMON = 6_000
NAME_FIRST_RANK = 500
# Names this popular in English-speaking countries are kept out of the common words.
ENGLISH_SPEAKING = ("US", "GB", "CA", "AU", "IE", "NZ")
POPULAR_NAME_RANK = 250

# Everyday English words that are also popular names. Written from the English side
# (words a support agent types in lower case), not from any test corpus.
ENGLISH_WORDS_THAT_ARE_NAMES = """
    will may mark bill grant chase hope grace joy faith rose summer autumn june april
    august dawn frank drew pat sue art guy dean king price long young white black brown
    green gray grey bell hill wood woods lane page park ford cash rich rush sharp ward
    love major miles hunter mason cook baker carter walker turner parker porter marshall
    stone rock river sky star ray max jack bob don gene rob bishop church castle bond
    banks sterling pierce head hall wells may daisy ruby amber iris ivy lily holly violet
    penny sunny honey angel harmony destiny trinity justice ace lucky buck colt sonny
    bud chip rusty skip dusty rocky sandy misty storm rain snow winter spring fall
    early late best lord noble ruth sage patience prudence constance victor victoria
    hardy moody strong swift wise wild fox wolf lamb bird crane hawk swan parrot finch
    rivers waters brooks field fields moore shore bay booth power money gold silver
    worth hope glen dale chance blaze sterling
    rider riders driver drivers passenger fare trip ride pickup dropoff surge dispatch
    support ops agent courier
"""


def first_names() -> set[str]:
    return set(_names_dataset("first_names", FIRST_RANK))


def last_names() -> set[str]:
    return set(_names_dataset("last_names", LAST_RANK))


def common_words(first: set[str], last: set[str]) -> set[str]:
    from wordfreq import top_n_list

    popular = set(_names_dataset("first_names", POPULAR_NAME_RANK, ENGLISH_SPEAKING))
    popular |= set(_names_dataset("last_names", POPULAR_NAME_RANK, ENGLISH_SPEAKING))
    ranked = [fold(w) for w in top_n_list("en", COMMON_WORDS) if is_name_word(w)]
    very_common = set(ranked[:VERY_COMMON])
    top_first = frozenset(_names_dataset("first_names", NAME_FIRST_RANK))
    top_last = frozenset(_names_dataset("last_names", NAME_FIRST_RANK))
    lexicon = NameLexicon(first=top_first, last=top_last, common=frozenset())
    names_first = {
        w for w in ranked if w not in very_common and (w in top_first or lexicon.is_last(w))
    }
    words = set(ranked) - popular - names_first
    return words | {fold(w) for w in ENGLISH_WORDS_THAT_ARE_NAMES.split()}


def _names_dataset(kind: str, max_rank: int, countries: Iterable[str] = ()) -> Iterable[str]:
    import names_dataset

    path = Path(names_dataset.__file__).parent / "v3" / f"{kind}.pkl.gz"
    data = _load_pickle(path)
    wanted = set(countries)
    for name, info in data.items():
        ranks = info.get("rank") or {}
        best = min(
            (rank for country, rank in ranks.items() if not wanted or country in wanted),
            default=None,
        )
        if best is None or best > max_rank:
            continue
        for part in name.replace("-", " ").split():
            if is_name_word(part) and len(part) > 1:
                yield fold(part)


_PICKLES: dict[Path, Any] = {}


def _load_pickle(path: Path) -> Any:
    if path not in _PICKLES:
        with gzip.open(path) as stream:
            _PICKLES[path] = pickle.load(stream)  # noqa: S301 - a file of an installed package
    return _PICKLES[path]


def _write(name: str, words: set[str], source: str) -> None:
    path = DATA_DIR / name
    with gzip.GzipFile(path, "wb", mtime=0) as stream:  # mtime=0: rebuilds are identical
        stream.write(f"# {source}\n".encode())
        stream.write("".join(f"{w}\n" for w in sorted(words)).encode())
    print(f"{path}: {len(words):,} words, {path.stat().st_size:,} bytes")


def main() -> None:
    first, last = first_names(), last_names()
    common = common_words(first, last)
    _write("first_names.txt.gz", first, "names-dataset 3.3.1 (MIT)")
    _write("last_names.txt.gz", last, "names-dataset 3.3.1 (MIT)")
    _write("common_words.txt.gz", common, "wordfreq 3.1.1 (Apache-2.0), see build_lexicon.py")


if __name__ == "__main__":
    main()
