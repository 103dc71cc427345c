"""Feature extraction: a sentence (and its article context) to a list of feature strings.

Pure Python, no scikit-learn: the same `FeatureSpec` feeds scikit-learn's
TfidfVectorizer at training time and the fast NumPy scorer at prediction time, so
both paths see identical features. Tokens keep what carries the labels: quotation
marks, number shapes ("£1.4bn" -> "£0.0bn" and <money>), percent and currency signs.
"""

from __future__ import annotations

import re
import math
from dataclasses import dataclass, fields
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

# Tokens are what `str.split` leaves after marks that stand alone get spaces around
# them and other punctuation becomes a space: C-speed string methods instead of a
# regex match per token. Apostrophes stand alone only at a word's edge ("it's" stays).
_ALONE = '"“”‘?!:;(),-\x00'
_SPACE = ".&/+*[]#@…—–=|~^`{}\\"
# One pattern per apostrophe: a literal first character lets the regex engine skip
# ahead with a fast search (a two-character class scans 6x slower).
_EDGE_APOSTROPHES = (("'", re.compile(r"'(?:(?!\w)|(?<!\w'))")),
                     ("’", re.compile(r"’(?:(?!\w)|(?<!\w’))")))
_DIGIT = re.compile(r"[0-9]")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
# Starts with a character class so the regex engine can skip ahead to candidates; the
# conditions a class cannot express (no word character before, a digit after a
# currency sign) are checked in `_shape`.
# Digits are ASCII 0-9 (Unicode \d makes the scan 1.6x slower; other digits stay words).
# A digit right after a digit, '.' or ',' never starts a number (the lookbehind, after
# the first character so the engine can skip ahead to candidates):
# `_shape` would leave such a match as it is, and the span it skips holds no other
# start `_shape` accepts, so the result is unchanged; without it, a long run of digits
# followed by a letter is retried from every digit, each retry rescanning the run.
_NUMBER = re.compile(
    r"(?P<lead>[£$€0-9])(?<![0-9.,][0-9])(?P<body>[0-9,.]*[0-9])?(?P<suf>%|bn|m|k|p|st|nd|rd|th|s)?(?!\w)"
    r"(?=(?P<pc>\s+per\s*cent\b)|(?P<month>\s+" + _MONTH + r"\b))?")
_MONTH_BEFORE = re.compile(r"\b" + _MONTH + r"\s+$")
NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred thousand million billion trillion half third thirds quarter quarters dozen "
    "hundreds thousands millions billions".split())
_CUES = {
    "<acc>": "accuse accused accuses accusing accusation accusations blame blamed blames blaming "
             "allege alleged alleges allegation allegations allegedly criticise criticised "
             "criticises criticising criticism critics condemn condemned condemns attack attacked "
             "attacks charge charged claims misled mislead misleading lied lie lies lying "
             "betrayed betrayal failed failure failing wasted waste scandal disgrace shameful "
             "hypocrisy hypocritical incompetent incompetence smear abuse abused threatened "
             "harassment cynical reckless irresponsible deceit deceived dishonest fault",
    "<den>": "deny denied denies denying denial denials reject rejected rejects rejecting dismiss "
             "dismissed dismisses dismissing rebut rebutted refute refuted insist insisted insists "
             "nonsense rubbish untrue false wrong baseless unfounded absurd ridiculous "
             "categorically unaware innocent mischievous inaccurate misrepresented distorted",
    "<def>": "defend defended defends defending defence justify justified justifies "
             "explained response responded insisted maintained stressed",
    "<mult>": "double doubled doubling treble trebled triple tripled halve halved twofold "
              "threefold fourfold fivefold sixfold tenfold first second third fourth fifth sixth "
              "seventh eighth ninth tenth eleventh twelfth twentieth hundredth majority minority",
    "<neg>": "not no never nothing nobody none n't cannot isn't wasn't didn't don't doesn't "
             "won't wouldn't hasn't haven't hadn't aren't weren't couldn't shouldn't",
    "<say>": "said says say told added insisted stated argued claimed warned explained "
             "according tweeted wrote admitted",
}
CUE_CLASS: dict[str, str] = {}
for _cls, _words in _CUES.items():
    for _w in _words.split():
        CUE_CLASS.setdefault(_w, _cls)
QUOTE_MARKS = frozenset("\"“”‘’'")
_TAGGED = NUMBER_WORDS | frozenset(CUE_CLASS)
# The number classes that mark a quantity (ctx:quantity), and every class
# `number_class` gives a number; the classes cue words get.
QUANTITY_CLASSES = frozenset(("<money>", "<pct>", "<num>"))
NUMBER_CLASSES = QUANTITY_CLASSES | frozenset(("<year>", "<ord>", "<date>"))
CUE_CLASSES = frozenset(CUE_CLASS.values())
_OPEN_DOUBLE = "“"
_CLOSE_DOUBLE = "”"
_DOUBLE_MARKS = re.compile(f"[\"{_OPEN_DOUBLE}{_CLOSE_DOUBLE}]")


def number_class(lead: str, body: str | None, suf: str | None, per_cent: str | None,
                 month_after: str | None, text: str, start: int) -> str:
    """Classify a number in its text: <money>, <pct>, <year>, <ord>, <date> or <num>."""
    if not lead.isdigit() or suf == "p":  # a currency sign, or pence ("80p")
        return "<money>"
    if suf == "%" or per_cent:
        return "<pct>"
    if body is not None and len(body) == 3 and lead in "12" and suf in (None, "s") \
            and (lead + body[0]) in ("19", "20") and body.isdigit():
        return "<year>"
    if suf in ("st", "nd", "rd", "th"):
        return "<ord>"
    if month_after or _MONTH_BEFORE.search(text, max(0, start - 12), start):
        return "<date>"
    return "<num>"


_CHAR_REF = re.compile(r"&#([0-9]{1,7});")


def _letter(match: re.Match) -> str:
    code = int(match.group(1))
    ch = chr(code) if code < 0x110000 else ""
    return ch if ch.isprintable() or ch.isspace() else match.group()


def char_refs(text: str) -> str:
    """'pr&#233;cis' -> 'précis': a numeric character reference (raw HTML left in the
    text) is the character it names, not a number. Control characters stay references."""
    return _CHAR_REF.sub(_letter, text) if "&#" in text else text


_MASK = str.maketrans({**{str(d): "0" for d in range(10)}, ",": "'", ".": "_"})


def _shape(match: re.Match) -> str:
    """'£1.4bn' -> '<money> £0_0bn <money>': the class token around the masked number.

    Digits become 0, a thousands separator becomes an apostrophe and the decimal point
    '_', so the shape survives splitting on punctuation.
    """
    text, start = match.string, match.start()
    if start:
        before = text[start - 1]
        if before.isalnum() or before in "_.,":
            return match.group()  # part of a word or of a longer figure
    lead, body, suf, per_cent, month_after = match.groups()
    if not lead.isdigit() and not (body or "")[:1].isdigit():
        return match.group()  # a currency sign not followed by a digit
    cls = number_class(lead, body, suf, per_cent, month_after, text, start)
    return f"{cls} {match.group().translate(_MASK)} {cls}"


# Every character `str.split` treats as whitespace beyond ASCII (tested against
# `str.isspace`); the byte-level tokenizer sees them as one ASCII space.
_UNICODE_SPACE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_WIDE_ALONE = tuple(ch for ch in _ALONE if not ch.isascii())
_WIDE_SPACE = tuple(ch for ch in _SPACE if not ch.isascii())
ASCII_ALONE = "".join(ch for ch in _ALONE if ch.isascii())
ASCII_SPACE = "".join(ch for ch in _SPACE if ch.isascii())
ASCII_WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "  # str.isspace() below 128


def _mark(low: str) -> str:
    """Space out edge apostrophes and the non-ASCII marks; Unicode spaces become ' '.

    What is left for splitting are ASCII marks only, which `_split` (strings) and the
    fast scorer (bytes) both handle the same way.
    """
    for mark, pattern in _EDGE_APOSTROPHES:
        if mark in low:
            low = pattern.sub(r" \g<0> ", low)
    if not low.isascii():
        low = _UNICODE_SPACE.sub(" ", _space_out(low, _WIDE_ALONE, _WIDE_SPACE))
    return low


def _space_out(low: str, alone: Iterable[str], space: Iterable[str]) -> str:
    """Spaces around each mark in `alone`; each mark in `space` becomes a space."""
    for ch in alone:
        if ch in low:
            low = low.replace(ch, f" {ch} ")
    for ch in space:
        if ch in low:
            low = low.replace(ch, " ")
    return low


def split_marked(text: str) -> list[str]:
    """Split text that `_mark` has seen into tokens: the string twin of the fast
    scorer's byte-level tokenizer."""
    return _space_out(text, ASCII_ALONE, ASCII_SPACE).split()


def _split(low: str) -> list[str]:
    """Split lower-cased, number-shaped text into tokens (see `_ALONE` and `_SPACE`)."""
    return split_marked(_mark(low))


SEP = "\x00"


def batch_text(texts: list[str], number_shapes: bool = True) -> str | None:
    """Many texts as one normalised string, each followed by SEP, with only ASCII marks
    and whitespace left to split on (`ASCII_ALONE`, `ASCII_SPACE`, `ASCII_WHITESPACE`):
    the input of the fast scorer's byte-level tokenizer. None when a text itself
    contains SEP (the caller then tokenizes one by one)."""
    joined = SEP.join(texts)
    if SEP in joined and joined.count(SEP) != len(texts) - 1:
        return None
    low = char_refs(joined).lower()
    if number_shapes and _DIGIT.search(low):
        low = _NUMBER.sub(_shape, low)
    return _mark(low) + SEP


def tokenize(text: str, number_shapes: bool = True) -> list[str]:
    """Lower-cased word tokens; digits masked to 0 and numbers tagged with their class.

    Numbers are shaped by one regex substitution before splitting.
    """
    low = char_refs(text).lower()
    if not number_shapes:
        return _split(low)
    if _DIGIT.search(low):
        low = _NUMBER.sub(_shape, low)
    toks = _split(low)
    if _TAGGED.isdisjoint(toks):
        return toks
    out = []
    for tok in toks:
        if tok in NUMBER_WORDS:
            out.append("<num>")
            out.append(tok)
            out.append("<num>")
        else:
            out.append(tok)
            cls = CUE_CLASS.get(tok)
            if cls is not None:
                out.append(cls)
    return out


def quote_state(text: str, open_before: bool) -> tuple[bool, int]:
    """Whether a double quotation is open after `text`, and how many marks it has.

    Straight quotes toggle; curly ones open or close. A sentence that starts with a
    quote mark while a quotation is already open continues it (BBC style repeats the
    opening mark at each new paragraph of a long quotation).
    """
    if "\"" not in text and _OPEN_DOUBLE not in text and _CLOSE_DOUBLE not in text:
        return open_before, 0  # most sentences: three substring scans, no regex
    state = open_before
    stripped = text.lstrip()
    found = _DOUBLE_MARKS.findall(stripped)  # visits the marks only, not every character
    continues = open_before and stripped[:1] in ("\"", _OPEN_DOUBLE)
    for ch in found[1 if continues else 0:]:
        state = (not state) if ch == "\"" else ch == _OPEN_DOUBLE
    return state, len(found)


class Facts(NamedTuple):
    """What the context features of a sentence are decided from. Scalars for one
    sentence (`FeatureSpec.split`), NumPy arrays for a batch (`runtime.vectorize`): the
    rules in `CONTEXT_RULES` use only `==`, `>=` and `&`, which mean the same on both."""

    marks: Any       # quotation-mark tokens in the sentence
    quantity: Any    # holds a <money>, <pct> or <num> token
    in_quote: Any    # starts inside an open quotation (article context)
    position: Any    # sentence index in its article; -1 when unknown


# The one table of context features: name -> rule over `Facts`.
CONTEXT_RULES: tuple[tuple[str, Callable[[Facts], Any]], ...] = (
    ("ctx:has_quote_marks", lambda f: f.marks >= 1),
    ("ctx:quote_pair", lambda f: f.marks >= 2),
    ("ctx:in_quote", lambda f: f.in_quote),
    ("ctx:in_quote_unmarked", lambda f: f.in_quote & (f.marks == 0)),
    ("ctx:headline", lambda f: f.position == 0),
    ("ctx:lead", lambda f: f.position == 1),
    ("ctx:quantity", lambda f: f.quantity),
)
CONTEXT_FEATURES = tuple(name for name, _ in CONTEXT_RULES)


def context_of(record: Any) -> Mapping[str, Any]:
    """A record's article context ({} for a plain string or a record without one)."""
    return {} if isinstance(record, str) else (record.get("context") or {})


def text_of(record: Any) -> str:
    """A record's sentence text (a plain string is its own text)."""
    return record if isinstance(record, str) else record["text"]


class Batch(NamedTuple):
    """Records to score, with each one's text and context read out once for every stage."""

    records: Sequence[Any]
    texts: list[str]
    contexts: list[Mapping[str, Any]]

    @classmethod
    def of(cls, records: Sequence[Any]) -> "Batch":
        if isinstance(records, Batch):
            return records
        return cls(records, [text_of(r) for r in records], [context_of(r) for r in records])

    def part(self, lo: int, hi: int) -> "Batch":
        return Batch(self.records[lo:hi], self.texts[lo:hi], self.contexts[lo:hi])


@dataclass(frozen=True)
class FeatureSpec:
    """Everything that decides a sentence's features and their TF-IDF values.

    Built once from the config (`from_config`), it is the analyzer scikit-learn's
    TfidfVectorizer calls at training time (picklable, callable on a record), it is
    saved in the artifact (`to_dict`), and the runtime rebuilds it (`from_dict`) to
    compute the same features in NumPy. A record is a plain string or a mapping with
    "text" and optional "context" (see `runtime.records.add_context`).
    """

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (0, 0)
    number_shapes: bool = True
    context: bool = True
    neighbours: bool = False           # cue classes of the previous and next sentence
    neighbour_labels: tuple[str, ...] = ()  # labels that also read the neighbours' n-grams
    neighbour_weight: float = 0.5
    sublinear_tf: bool = True

    @classmethod
    def from_config(cls, section: Any) -> "FeatureSpec":
        """The spec from the config's `features` section (its fields, read by name)."""
        return cls(**{f.name: getattr(section, f.name) for f in fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, for the artifact."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FeatureSpec":
        """Rebuild a spec from `to_dict`'s output; ValueError names a bad field."""
        if not isinstance(data, Mapping):
            raise ValueError(f"feature spec must be an object, got {type(data).__name__}")
        known = {f.name: f for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"unknown feature setting {sorted(unknown)[0]!r}")
        out: dict[str, Any] = {}
        for name, value in data.items():
            default = getattr(cls(), name)
            if isinstance(default, tuple):
                kind = int if name.endswith("ngrams") else str
                if not isinstance(value, list) or not all(
                        isinstance(v, kind) and not isinstance(v, bool) for v in value):
                    raise ValueError(f"'{name}' must be a list of {kind.__name__}, got {value!r}")
                value = tuple(value)
                if name.endswith("ngrams") and (len(value) != 2 or not 0 <= value[0] <= value[1] <= 8):
                    raise ValueError(f"'{name}' must be [min, max] in 0..8, got {list(value)!r}")
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"'{name}' must be true or false, got {value!r}")
            elif not isinstance(value, (int, float)) or isinstance(value, bool) \
                    or not math.isfinite(value):
                raise ValueError(f"'{name}' must be a finite number, got {value!r}")
            out[name] = value
        return cls(**out)

    def __call__(self, record: Any) -> list[str]:
        if isinstance(record, tuple):  # already `split` (StanceClassifier.fit tokenizes once)
            return self.features(*record)
        return self.features(*self.split(record))

    @property
    def batchable(self) -> bool:
        """Whether the batch path computes these features (character n-grams and
        neighbour cue classes are looked up one sentence at a time)."""
        return self.char_ngrams[1] == 0 and not self.neighbours

    def features(self, toks: list[str], extras: list[str]) -> list[str]:
        """Every feature string from `split`'s tokens and extras (what `__call__` returns)."""
        feats = _word_ngrams(toks, self.word_ngrams)
        feats.extend(extras)
        return feats

    def split(self, record: Any) -> tuple[list[str], list[str]]:
        """The word tokens (n-grams are built from them) and every other feature string.

        The fast scorer builds word n-grams from token ids in NumPy; everything else
        (context, character n-grams, neighbours) it looks up as strings.
        """
        text, ctx = text_of(record), context_of(record)
        toks = tokenize(text, self.number_shapes)
        extras: list[str] = []
        if self.char_ngrams[1] > 0:
            extras.extend(_char_ngrams(text.lower(), self.char_ngrams))
        if self.context:
            extras.extend(context_features(toks, ctx))
        if self.neighbours and ctx:
            for side in ("prev", "next"):
                other = ctx.get(side)
                if other:
                    # only the neighbour's cue classes and quotation marks: its words add noise
                    extras.extend(f"{side}:{t}" for t in dict.fromkeys(
                        tokenize(other, self.number_shapes)) if t[0] == "<" or t in QUOTE_MARKS)
        return toks, extras


def is_word_ngram(feature: str) -> bool:
    """True for word n-gram features; context, neighbour and character features are not."""
    if feature.startswith("#"):
        return False
    return " " in feature or not (":" in feature and feature != ":")


def _word_ngrams(toks: list[str], ngram_range: tuple[int, int]) -> list[str]:
    lo, hi = ngram_range
    feats = list(toks) if lo == 1 else []
    if lo <= 2 <= hi:
        feats.extend(map(" ".join, zip(toks, toks[1:])))
    for n in range(max(lo, 3), hi + 1):
        feats.extend(" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1))
    return feats


def _char_ngrams(text: str, ngram_range: tuple[int, int]) -> list[str]:
    text = " " + " ".join(text.split()) + " "
    lo, hi = ngram_range
    return [f"#{text[i:i + n]}" for n in range(lo, hi + 1) for i in range(len(text) - n + 1)]


def context_features(toks: list[str], ctx: Mapping[str, Any]) -> list[str]:
    """The `CONTEXT_RULES` features that hold for one sentence (its tokens and context)."""
    position = ctx.get("index")
    facts = Facts(marks=sum(map(toks.count, QUOTE_MARKS.intersection(toks))),
                  quantity=not QUANTITY_CLASSES.isdisjoint(toks),
                  in_quote=bool(ctx.get("in_quote")),
                  position=-1 if position is None else position)
    return [name for name, rule in CONTEXT_RULES if rule(facts)]
