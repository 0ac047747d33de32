"""Text to read aloud for synthetic speech: sentences from installed packages, and their spoken form.

The sentences come from Debian packages, read where Debian installs them: WordNet's example
sentences (`wordnet-base`), the fortune cookie files (`fortunes`) and the King James Bible
(`bible-kjv-text`). `spoken_form` writes a sentence the way a speaker says it (numbers, dates,
money, abbreviations and symbols in words), which is what a transcript of its reading holds.
A fixed ~1% of sentences (`is_held_out`) never goes into training, so that a model can be tested
on sentences it has not heard.
"""

import hashlib
import itertools
import re
import struct
import subprocess
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

from engine.errors import VivavoceError

WORDNET_DIR = Path("/usr/share/wordnet")
FORTUNES_DIR = Path("/usr/share/games/fortunes")
BIBLE_DATA = Path("/usr/lib/bible.data")

PACKAGES = {"wordnet": "wordnet-base", "fortunes": "fortunes", "bible": "bible-kjv-text"}

MIN_WORDS, MAX_WORDS = 3, 30
HELD_OUT_PER_MILLE = 10

# ---- spoken form -------------------------------------------------------------------------------

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10 ** 12, "trillion"), (10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                  "nine": "ninth", "twelve": "twelfth"}
_MONTHS = ("January February March April May June July August September October November "
           "December").split()
_MONTH_NAMES = {m[:3].lower(): m for m in _MONTHS} | {"sept": "September"}
_MONTH = r"(?:(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?|" + "|".join(_MONTHS) + ")"
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
               "€": ("euro", "euros", "cent", "cents")}
_UNITS = {"lb": ("pound", "pounds"), "lbs": ("pound", "pounds"), "oz": ("ounce", "ounces"),
          "ft": ("foot", "feet"), "mph": ("mile per hour", "miles per hour"),
          "km": ("kilometer", "kilometers"), "kg": ("kilogram", "kilograms"),
          "cm": ("centimeter", "centimeters"), "mm": ("millimeter", "millimeters")}

# Abbreviations that end with a period, lower-cased, with what is said for them. Sentence splitting
# does not break after those that stand before a name or a number.
_ABBREVIATIONS = {
    "mr.": "mister", "mrs.": "missus", "ms.": "miz", "dr.": "doctor", "prof.": "professor",
    "jr.": "junior", "sr.": "senior", "mt.": "mount", "capt.": "captain", "gen.": "general",
    "col.": "colonel", "lt.": "lieutenant", "sgt.": "sergeant", "gov.": "governor", "sen.": "senator",
    "rev.": "reverend", "hon.": "honorable", "pres.": "president", "ave.": "avenue",
    "blvd.": "boulevard", "inc.": "incorporated", "ltd.": "limited", "corp.": "corporation",
    "dept.": "department", "approx.": "approximately", "etc.": "et cetera", "vs.": "versus",
    "e.g.": "for example", "i.e.": "that is", "ph.d.": "p h d",
}
_NO_BREAK_AFTER = {"mr.", "mrs.", "ms.", "dr.", "prof.", "mt.", "capt.", "gen.", "col.", "lt.", "sgt.",
                   "gov.", "sen.", "rev.", "hon.", "pres.", "st.", "vs.", "e.g.", "i.e.", "no.", "nos."}

# Characters that `spoken_form` either says or may drop as punctuation without changing what is
# said; a sentence with any other character (after `_fold`) is not one we can voice.
_SAYABLE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
                     ".,;:!?'\"()-/&+=@$%#£€¢°")

_FOLD = str.maketrans({"\u2018": "'", "\u2019": "'", "`": "'", "\u00b4": "'", "\u201c": '"',
                       "\u201d": '"', "\u201e": '"', "\u2013": " - ", "\u2014": " - ", "\u2015": " - ",
                       "\u2026": "...", "\u00a0": " ", "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE",
                       "\u0153": "oe", "\u0152": "OE", "\u00f8": "o", "\u00d8": "O", "\u0142": "l",
                       "\u0141": "L", "\u00f0": "d", "\u00fe": "th"})
_SYMBOLS = str.maketrans({"&": " and ", "+": " plus ", "=": " equals ", "@": " at ", "%": " percent ",
                          "°": " degrees "})
_SYMBOL = re.compile("[" + re.escape("".join(chr(c) for c in _SYMBOLS)) + "]")

# Patterns here put a look-behind after a first character where they can: the search for a
# pattern that starts with characters, not with a look-behind, is several times faster.
_SAINT = r"(?:St|ST)\.?(?=\s+[A-Z])"
_NAME_TITLE = r"(?:Mrs|Mr|Ms|Dr)(?=\s+[A-Z])"  # a title without its period
_FIRST_LETTERS = "".join(sorted({c for a in [*_ABBREVIATIONS, "st", "no", "co"]
                                 for c in a[0] + a[0].upper()}))
_ABBREVIATION = re.compile(
    f"(?=[{_FIRST_LETTERS}])" + r"(?<![\w.])(?:(?P<saint>" + _SAINT + r")|(?P<street>(?:St|ST)\.)|"
    r"(?P<number>(?i:no)\.\s*(?=\d))|(?P<title>" + _NAME_TITLE + r")|(?P<company>Co\.)|"
    r"(?P<known>(?i:" + "|".join(re.escape(a) for a in sorted(_ABBREVIATIONS, key=len, reverse=True)) + ")))")
_MAY_ABBREVIATE = re.compile(r"\.|" + _SAINT + "|" + _NAME_TITLE)  # spares most text the search above
_INITIALISM = re.compile(r"[A-Za-z]\.(?<![\w.][A-Za-z]\.)(?:[A-Za-z]\.)+")
_CONSONANT = "[BCDFGHJKLMNPQRSTVWXZ]"
# All capitals and no vowel ("BBC", "TV"): said letter by letter.
_SPELLED_CAPS = re.compile(f"{_CONSONANT}(?<!\\w{_CONSONANT}){_CONSONANT}+\\b")
_DIGIT = re.compile(r"\d")

_DATE = re.compile(r"\b(?P<month>" + _MONTH + r")\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b(?!:\d|\.\d)"
                   r"(?:,?\s+(?P<year>\d{4})\b)?")
_SLASH_DATE = re.compile(r"\b(?P<month>1[0-2]|0?[1-9])/(?P<day>3[01]|[12]\d|0?[1-9])/(?P<year>\d{4}|\d\d)\b")
_DAY_MONTH = re.compile(r"(?:\bthe\s+)?\b(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>"
                        + _MONTH + r")\b")
_MONEY = re.compile(r"(?P<sign>[$£€])\s?(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?"
                    r"(?P<scale>\s+(?:thousand|million|billion|trillion)\b)?")
_CENTS = re.compile(r"\b(?P<n>\d+)\s?¢")
_PERCENT = re.compile(r"(?P<n>\d[\d,]*(?:\.\d+)?)\s?%")
_TIME = re.compile(r"\b(?P<h>\d{1,2}):(?P<m>\d\d)\b(?::\d\d\b)?(?P<meridiem>\s*(?i:[ap])\.?\s?(?i:m)\b\.?)?")
_MERIDIEM = re.compile(r"(?<=\d)\s*(?P<m>(?i:[ap]))\.?\s?(?i:m)\b\.?")
_ORDINAL = re.compile(r"\b(?P<n>\d{1,3}(?:,\d{3})+|\d+)(?i:st|nd|rd|th)\b")
_DECADE = re.compile(r"(?:(?<![\w'])'(?P<short>\d0)|\b(?P<long>\d{0,2}\d0))'?s\b")
_RANGE = re.compile(r"(?<=\d)\s*-\s*(?=\d)")
_YEAR = re.compile(r"(?:(?:\b(?i:in|since|by|from|until|till|to|through|of|and|or|year|circa|"
                   r"around|about|before|after|during|between|early|late|mid|summer|winter|spring|"
                   r"autumn|fall)|" + _MONTH + r"|[(\-])[ \t]*)(?P<year>1\d{3}|20\d\d)\b(?![.,]?\d|%)"
                   r"|\b(?P<range_year>1\d{3}|20\d\d)(?= to (?:1\d{3}|20\d\d)\b)"
                   r"|\b(?P<era_year>\d{1,4})\s*"
                   r"(?P<era>A\.?\s?D\.?|B\.?\s?C\.?(?:\s?E\.?)?|C\.?\s?E\.?)(?!\w)")
_FRACTION = re.compile(r"\b(?P<n>\d+)/(?P<d>\d+)\b")
_UNIT = re.compile(r"\b(?P<n>\d[\d,]*(?:\.\d+)?)\s?(?P<unit>" + "|".join(_UNITS) + r")\b\.?")
_NUMBER_SIGN = re.compile(r"#\s?(?=\d)")
_LETTER_DIGIT = re.compile(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_MINUS = re.compile(r"(?<![\w.,])-(?=\d)")
_DECIMAL = re.compile(r"(?P<whole>\d{1,3}(?:,\d{3})+|\d*)\.(?P<fraction>\d+)")
_INTEGER = re.compile(r"\d{1,3}(?:,\d{3})+(?!\d)|\d+")
_NOT_SAID = re.compile(r"[^a-z']+")
_LOOSE_APOSTROPHE = re.compile(r"'(?<![a-z]')|'(?![a-z])")


def _cardinal(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + (" " + _ONES[n % 10] if n % 10 else "")
    if n < 1000:
        return _ONES[n // 100] + " hundred" + (" " + _cardinal(n % 100) if n % 100 else "")
    size, name = next((size, name) for size, name in _SCALES if n >= size)
    return _cardinal(n // size) + " " + name + (" " + _cardinal(n % size) if n % size else "")


def _digits(digits: str) -> str:
    return " ".join(_ONES[int(d)] for d in digits)


def _number(written: str) -> str:
    """An integer as said: "1,234" as a cardinal, "007" and very long numbers digit by digit."""
    digits = written.replace(",", "")
    if (len(digits) > 1 and digits[0] == "0") or len(digits) > 15:
        return _digits(digits)
    return _cardinal(int(digits))


def _ordinal(n: int) -> str:
    *head, last = _cardinal(n).split()
    if last in _ORDINAL_WORDS:
        last = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join([*head, last])


def _year(n: int) -> str:
    """A year as said: 1984 "nineteen eighty four", 1905 "nineteen oh five", 2005 "two thousand five"."""
    century, rest = divmod(n, 100)
    if n < 1000 or (2000 <= n < 2010) or n % 1000 == 0:
        return _cardinal(n)
    if rest == 0:
        return _cardinal(century) + " hundred"
    return _cardinal(century) + (" oh " if rest < 10 else " ") + _cardinal(rest)


def _plural(words: str) -> str:
    return words[:-1] + "ies" if words.endswith("y") else words + "s"


def _decimal(whole: str, fraction: str) -> str:
    return (_number(whole) + " " if whole else "") + "point " + _digits(fraction)


def _amount(written: str) -> str:
    whole, _, fraction = written.partition(".")
    return _decimal(whole, fraction) if fraction else _number(whole)


def _say_money(m: re.Match) -> str:
    one, many, small_one, small_many = _CURRENCIES[m["sign"]]
    whole, fraction = m["whole"], m["fraction"]
    if m["scale"]:
        return f" {_amount(whole + ('.' + fraction if fraction else ''))}{m['scale']} {many} "
    if fraction and len(fraction) != 2:
        return f" {_decimal(whole, fraction)} {many} "
    units, cents = int(whole.replace(",", "")), int(fraction or 0)
    said = []
    if units or not cents:
        said.append(f"{_number(whole)} {one if units == 1 else many}")
    if cents:
        said.append(f"{_cardinal(cents)} {small_one if cents == 1 else small_many}")
    return " " + " ".join(said) + " "


def _say_time(m: re.Match) -> str:
    hours, minutes = int(m["h"]), int(m["m"])
    meridiem = " " + " ".join(m["meridiem"].strip().replace(".", "").lower()) if m["meridiem"] else ""
    if minutes == 0:
        return _cardinal(hours) + (meridiem or " o'clock")
    return _cardinal(hours) + (" oh " if minutes < 10 else " ") + _cardinal(minutes) + meridiem


def _say_date(m: re.Match) -> str:
    month = _MONTH_NAMES.get(m["month"].rstrip(".").lower(), m["month"])
    year = f" {_year(int(m['year']))}" if m["year"] else ""
    return f"{month} {_ordinal(int(m['day']))}{year}"


def _say_slash_date(m: re.Match) -> str:
    """A date written month/day/year, as Americans write it: 3/10/87 "March tenth eighty seven"."""
    year = int(m["year"])
    said_year = _year(year) if len(m["year"]) == 4 else _cardinal(year) if year >= 10 else "oh " + _ONES[year]
    return f"{_MONTHS[int(m['month']) - 1]} {_ordinal(int(m['day']))} {said_year}"


def _say_day_month(m: re.Match) -> str:
    month = _MONTH_NAMES.get(m["month"].rstrip(".").lower(), m["month"])
    return f"the {_ordinal(int(m['day']))} of {month}"


def _say_decade(m: re.Match) -> str:
    if m["short"]:
        return _plural(_cardinal(int(m["short"])))
    n = int(m["long"])
    return _plural(_year(n) if n >= 1000 else _cardinal(n))


def _say_year(m: re.Match) -> str:
    if m["era"]:
        era = " ".join(re.sub(r"[.\s]", "", m["era"]).lower())
        return f"{_year(int(m['era_year']))} {era}"
    if m["range_year"]:
        return _year(int(m["range_year"]))
    return m.group(0)[: m.start("year") - m.start()] + _year(int(m["year"]))


def _say_fraction(m: re.Match) -> str:
    n, d = int(m["n"]), int(m["d"])
    if not 2 <= d <= 10:
        return f"{_number(m['n'])} over {_number(m['d'])}"
    name = "half" if d == 2 else "quarter" if d == 4 else _ordinal(d)
    return f"{_cardinal(n)} {name if n == 1 else ('halves' if d == 2 else name + 's')}"


def _say_unit(m: re.Match) -> str:
    one, many = _UNITS[m["unit"]]
    return f"{_amount(m['n'].replace(',', ''))} {one if m['n'] == '1' else many}"


def _say_abbreviation(m: re.Match) -> str:
    if m["saint"]:
        return "saint"
    if m["street"]:
        return "street"
    if m["number"]:
        return "number "
    if m["title"]:
        return _ABBREVIATIONS[m["title"].lower() + "."]
    if m["company"]:
        return "company"
    return _ABBREVIATIONS[m["known"].lower()]


def _fold(text: str) -> str:
    """Typographic quotes and dashes to ASCII, and Latin letters without their accents."""
    if text.isascii():
        return text.replace("`", "'")
    text = text.translate(_FOLD)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) != "Mn")


def _say_numbers(text: str) -> str:
    text = _DATE.sub(_say_date, text)
    text = _SLASH_DATE.sub(_say_slash_date, text)
    text = _DAY_MONTH.sub(_say_day_month, text)
    text = _MONEY.sub(_say_money, text)
    text = _CENTS.sub(lambda m: f"{_cardinal(int(m['n']))} {'cent' if m['n'] == '1' else 'cents'}", text)
    text = _PERCENT.sub(lambda m: _amount(m["n"].replace(",", "")) + " percent", text)
    text = _TIME.sub(_say_time, text)
    text = _MERIDIEM.sub(lambda m: f" {m['m'].lower()} m", text)
    text = _ORDINAL.sub(lambda m: _ordinal(int(m["n"].replace(",", ""))), text)
    text = _DECADE.sub(_say_decade, text)
    text = _RANGE.sub(" to ", text)
    text = _YEAR.sub(_say_year, text)
    text = _FRACTION.sub(_say_fraction, text)
    text = _UNIT.sub(_say_unit, text)
    text = _NUMBER_SIGN.sub("number ", text)
    text = _LETTER_DIGIT.sub(" ", text)
    text = _MINUS.sub("minus ", text)
    text = _DECIMAL.sub(lambda m: " " + _decimal(m["whole"], m["fraction"]) + " ", text)
    return _INTEGER.sub(lambda m: " " + _number(m.group()) + " ", text)


def spoken_form(text: str) -> str:
    """What a speaker says reading ``text``: lower case words of a-z and apostrophes, one space apart.

    Numbers, ordinals, years, dates, times, money, percentages, common abbreviations and the
    symbols & + = @ are written out in words ("Dr. Smith paid $3.50 at 3:30" -> "doctor smith
    paid three dollars fifty cents at three thirty"); other punctuation and symbols are dropped.
    """
    text = _fold(text)
    if _MAY_ABBREVIATE.search(text):
        text = _ABBREVIATION.sub(_say_abbreviation, text)
    text = _INITIALISM.sub(lambda m: " " + " ".join(m.group().replace(".", "")) + " ", text)
    text = _SPELLED_CAPS.sub(lambda m: " ".join(m.group()), text)
    if _DIGIT.search(text):
        text = _say_numbers(text)
    if _SYMBOL.search(text):
        text = text.translate(_SYMBOLS)
    text = _NOT_SAID.sub(" ", text.lower())
    return " ".join(_LOOSE_APOSTROPHE.sub(" ", text).split())


def _sayable(text: str) -> bool:
    return _SAYABLE.issuperset(_fold(text))


# ---- sentences from the installed packages -----------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?]+[\"')]*\s+(?=[\"'(]*[A-Z0-9])")
_INITIALS = re.compile(r"(?:[A-Za-z]\.)+")
_LIST_NUMBER = re.compile(r"^(?:\(\d{1,2}\)|\d{1,2}[.)])\s+")
_WRITTEN_WORD = re.compile(r"(?<!\S)[^\sA-Za-z0-9]*[A-Za-z0-9]")


def _split_sentences(passage: str) -> Iterator[str]:
    """The sentences of a passage of prose, split after . ! or ? before a capital or a digit,
    without list numbers ("(2) ...") in front."""
    passage = " ".join(passage.split())
    start = 0
    for m in _SENTENCE_END.finditer(passage):
        word = passage[passage.rfind(" ", 0, m.start()) + 1: m.start() + 1].lstrip("\"'(")
        if passage[m.start()] == "." and (word.lower() in _NO_BREAK_AFTER or _INITIALS.fullmatch(word)):
            continue
        yield _LIST_NUMBER.sub("", passage[start:m.end()].strip())
        start = m.end()
    yield _LIST_NUMBER.sub("", passage[start:].strip())


def _wordnet_passages(folder: Path) -> Iterator[str]:
    """The quoted usage examples of WordNet's glosses ("| definition; "example"; "example"")."""
    for part in ("noun", "verb", "adj", "adv"):
        with open(folder / f"data.{part}", encoding="utf-8") as lines:
            for line in lines:
                if not line.startswith("  "):  # the licence header's lines start with two spaces
                    yield from re.findall(r'"([^"]+)"', line.partition(" | ")[2])


# Fortune files that are not English prose.
_NOT_PROSE = {"ascii-art", "translate-me"}
_ATTRIBUTION = re.compile(r"\s*--\s*\S")
_EDITORIAL_NOTE = re.compile(r"\[[^\]]*\]")


def _indent(line: str) -> int:
    return len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())


def _without_attributions(fortune: str) -> str:
    """A fortune without its attribution lines (an indented "-- Mark Twain") and their continuations.

    An attribution is an indented line starting with "--", or an unindented one that only
    indented lines follow (an unindented "--" line elsewhere is a dash in the text).
    """
    lines = fortune.split("\n")
    kept, attribution = [], None
    for i, line in enumerate(lines):
        if attribution is not None and line.strip() and _indent(line) >= attribution:
            continue
        attribution = None
        if _ATTRIBUTION.match(line) and (_indent(line) or all(_indent(rest) or not rest.strip()
                                                               for rest in lines[i + 1:])):
            attribution = _indent(line)
        else:
            kept.append(line)
    return "\n".join(kept)


def _fortune_passages(folder: Path) -> Iterator[str]:
    """The paragraphs of every fortune, without attributions, editorial notes ("[Ed.]"),
    overstruck characters or tables (text in columns)."""
    for path in sorted(folder.iterdir()):
        # Skip the index (.dat) beside each file and the links (.u8, old names) to files read already.
        if path.suffix == ".dat" or path.is_symlink() or not path.is_file() or path.name in _NOT_PROSE:
            continue
        # Overstrike (bold, underline) is a character, a backspace and the character printed over it.
        text = re.sub(".\x08", "", path.read_text(encoding="utf-8", errors="replace"))
        for fortune in re.split(r"^%$", text, flags=re.MULTILINE):
            for paragraph in re.split(r"\n\s*\n", _EDITORIAL_NOTE.sub(" ", _without_attributions(fortune))):
                if not re.search(r"\S\t", paragraph):
                    yield paragraph


def _bible_text(path: Path) -> str:
    """The text of bible-kjv-text's data file: one verse a line, "Ge1:1 In the beginning ...".

    The file ("EC02" format) holds a header, the number of 64 KiB blocks at byte 88, the offsets of
    the blocks after it, and each block compressed on its own in the LZW format of Unix `compress`
    (16-bit codes, block mode) without its 3-byte header, which gzip decompresses.
    """
    data = path.read_bytes()
    if not data.startswith(b"EC02"):
        raise VivavoceError(f"{path} is not the bible-kjv-text data file it should be")
    (count,) = struct.unpack_from(">I", data, 88)
    offsets = struct.unpack_from(f">{count + 1}I", data, 92)
    return b"".join(subprocess.run(["gzip", "-dc"], input=b"\x1f\x9d\x90" + data[start:end],
                                   capture_output=True, check=True).stdout
                    for start, end in zip(offsets, offsets[1:])).decode("ascii")


def _bible_passages(path: Path) -> Iterator[str]:
    """The chapters of the King James Bible as running text, without verse references."""
    verses = (re.match(r"(\d?[A-Za-z]+\d+):\d+ (.*)", line) for line in _bible_text(path).splitlines())
    for _, chapter in itertools.groupby(filter(None, verses), key=lambda verse: verse[1]):
        yield " ".join(verse[2] for verse in chapter)


def _source_location(source: str) -> Path:
    return {"wordnet": WORDNET_DIR, "fortunes": FORTUNES_DIR, "bible": BIBLE_DATA}[source]


_READERS = {"wordnet": _wordnet_passages, "fortunes": _fortune_passages, "bible": _bible_passages}


def sentences(sources: Sequence[str] = ("wordnet", "fortunes", "bible")) -> list[str]:
    """Distinct sentences, as written, from those of ``sources`` whose Debian package is installed.

    Each has 3 to 30 words when spoken (`spoken_form`) and only characters that `spoken_form` can
    voice; no two have the same spoken form. Sorted. Raises `VivavoceError` if no source is installed.
    """
    unknown = [s for s in sources if s not in PACKAGES]
    if unknown:
        raise VivavoceError(f"unknown text source {unknown[0]!r} (choose from {', '.join(PACKAGES)})")
    installed = [s for s in sources if _source_location(s).exists()]
    if not installed:
        raise VivavoceError("no text to read aloud is installed: install the Debian packages "
                            + ", ".join(PACKAGES[s] for s in sources))
    by_spoken: dict[str, str] = {}
    for source in installed:
        for passage in _READERS[source](_source_location(source)):
            for sentence in _split_sentences(passage):
                # Every written word says at least one word: a cheap first test of the length.
                if ((sentence.count(" ") >= MAX_WORDS and len(_WRITTEN_WORD.findall(sentence)) > MAX_WORDS)
                        or sentence.endswith(":") or not _sayable(sentence)):
                    continue
                spoken = spoken_form(sentence)
                if (MIN_WORDS <= spoken.count(" ") + 1 <= MAX_WORDS
                        and sentence < by_spoken.get(spoken, "\U0010ffff")):
                    by_spoken[spoken] = sentence
    return sorted(by_spoken.values())


# ---- the held-out test sentences ---------------------------------------------------------------

def is_held_out(sentence: str) -> bool:
    """True for the fixed ~1% of sentences kept out of training, chosen by a hash of the spoken form."""
    digest = hashlib.sha256(spoken_form(sentence).encode()).digest()
    return int.from_bytes(digest[:8], "big") % 1000 < HELD_OUT_PER_MILLE


def held_out(sentences: list[str]) -> list[str]:
    """The sentences kept out of training for testing, in their order."""
    return [s for s in sentences if is_held_out(s)]


def training_sentences(sentences: list[str]) -> list[str]:
    """The sentences training may use: all but the held-out ones, in their order."""
    return [s for s in sentences if not is_held_out(s)]
