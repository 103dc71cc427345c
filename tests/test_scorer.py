"""The fast scorer's building blocks against plain Python equivalents."""

from __future__ import annotations

import numpy as np

from stancekit.runtime.features import batch_text, split_marked, tokenize
from stancekit.runtime.vectorize import IntMap

from conftest import ROOT


def batch_tokens(texts: list[str], number_shapes: bool = True) -> list[str]:
    """The string way to split a batch: the reference the byte tokenizer must match."""
    return split_marked(batch_text(texts, number_shapes))


def test_numeric_character_references_are_characters_not_numbers() -> None:
    from stancekit.runtime.features import char_refs
    assert char_refs("Bryn F&#244;n's pr&#233;cis cost &#163;5") == "Bryn Fôn's précis cost £5"
    assert char_refs("&#8220;Yes&#8221;&#0;&#99999999;") == "“Yes”&#0;&#99999999;"
    assert tokenize("F&#244;n: &#8220;yes&#8221;") == ["fôn", ":", "“", "yes", "”"]


def test_intmap_matches_a_dict() -> None:
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 10**12, 5000))
    values = rng.integers(0, 10**6, len(keys))
    m = IntMap(keys, values)
    absent = rng.integers(10**12, 2 * 10**12, 3000)
    query = np.concatenate([keys[::-1], absent, keys[:10]])
    expected = {int(k): int(v) for k, v in zip(keys, values)}
    assert m.get(query).tolist() == [expected.get(int(q), -1) for q in query]
    empty = IntMap(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    assert empty.get(np.array([1, 2, 3])).tolist() == [-1, -1, -1]


def test_batch_tokens_equal_per_sentence_tokens() -> None:
    """One pass over joined text gives each sentence's tokens (class tokens for number
    and cue words are inserted later, on ids)."""
    import json
    texts = [json.loads(l)["text"] for l in (ROOT / "data/gold.jsonl").read_text().splitlines()]
    texts += ["On 5 May 2005, 61 per cent said 'no'.", "£1.4bn", "",
              "x'’y said ’twas '90s, 'rock 'n' roll’", "Some ٣ people paid £٣.",
              "Costs\u00a0rose\u20035% to £1.4bn\u3000today."] + _random_texts(300)
    toks = batch_tokens(texts)
    per, cur = [], []
    for t in toks:
        if t == "\x00":
            per.append(cur)
            cur = []
        else:
            cur.append(t)
    plain = [[t for t in tokenize(x) if t not in ("<num>", "<acc>", "<den>", "<neg>", "<say>",
                                                   "<def>", "<mult>")] for x in texts]
    strip = [[t for t in p if t not in ("<num>",)] for p in per]
    assert strip == plain


def _random_texts(n: int) -> list[str]:
    """Random text over every mark, every Unicode space, apostrophes, digits, currency
    signs and multi-byte letters (including ones whose lower case changes length)."""
    import random

    from stancekit.runtime.features import _ALONE, _SPACE
    rnd = random.Random(7)
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    alphabet = (list("abcdeXYZ019£$€%'’_<>") + list(_ALONE.replace("\x00", "")) + list(_SPACE)
                + spaces + ["é", "ß", "Ω", "Σ", "語", "😀", "İ"] + [" may ", " per cent"]
                + ["&#233;", "&#8220;", "&#0;", "&#160;", "&#"])
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 60))) for _ in range(n)]


def test_byte_tokenizer_splits_as_strings_do() -> None:
    """Token ids from bytes equal those of the string tokenizer on random text."""
    from stancekit.runtime.features import _UNICODE_SPACE, ASCII_WHITESPACE
    from stancekit.runtime.vectorize import WordIndex, ngram_table
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    texts = _random_texts(400)
    texts += ["", "x'’y said ’twas '90s", "Costs\u00a0rose\u20035%", "a" * 300]
    known = sorted({t for t in batch_tokens(texts[::2]) if len(t) < 12})  # half seen
    index = WordIndex(*ngram_table(known, 2), (1, 2))
    assert index.text_ids(texts, True).tolist() == index.ids(batch_tokens(texts)).tolist()
    assert index.text_ids(texts, False).tolist() == index.ids(batch_tokens(texts, False)).tolist()
    # the byte tokenizer's notion of whitespace is str.split's
    assert {*ASCII_WHITESPACE, *(c for c in spaces if _UNICODE_SPACE.fullmatch(c))} == set(spaces)


def test_byte_tokenizer_falls_back_on_unencodable_text() -> None:
    from stancekit.runtime.vectorize import WordIndex, ngram_table
    index = WordIndex(*ngram_table(["he", "said"], 2), (1, 2))
    texts = ["he said \ud800 so", "he said"]
    assert index.text_ids(texts, True).tolist() == index.ids(batch_tokens(texts)).tolist()


def test_byte_tokenizer_falls_back_on_text_over_its_limit(monkeypatch) -> None:
    """A batch larger than the byte tables allow goes the string way, same ids."""
    from stancekit.runtime.vectorize import ByteTokenizer, WordIndex, ngram_table
    index = WordIndex(*ngram_table(["he", "said", "no"], 2), (1, 2))
    texts = ["He said no."] * 50
    expected = index.ids(batch_tokens(texts)).tolist()
    monkeypatch.setattr(ByteTokenizer, "MAX_BYTES", 64)
    assert index._bytes is None or index._bytes.ids("x" * 65) is None
    assert index.text_ids(texts, True).tolist() == expected
    assert index._bytes.ids("x" * 65) is None  # the limit did apply
