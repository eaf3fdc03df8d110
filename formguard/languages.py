"""What language a message is written in, and which languages its sender reads.

The Japanese rule (``content.ContentRules.check_japanese``) asks both: a
message without Japanese is refused only from a sender who reads Japanese
alone (or says nothing of what they read) on a Japanese page; anyone else gets
the policy's ``japanese_foreign_action`` (the captcha by default). Text is
read as the rules normalise it (``content.normalize``: NFKC, casefolded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils.translation import get_language
from django.utils.translation.trans_real import parse_accept_lang_header

# Kanji-only text is Japanese when at least this share of its letters are
# kanji and every one of them is a kanji of JIS X 0208, the set Japanese is
# written in (Shift_JIS encodes it): simplified Chinese characters (们 贵 请
# 优 这 吗) and most traditional-only ones (您 嗎 產 娛) are not in it.
# Measured on tests/corpus/: the kanji-only requests (「至急見積依頼。型番…」)
# are all JIS X 0208; every Chinese message, customer or spam, has at least
# one character outside it.
KANJI_MIN_SHARE = 0.5
# Kanji (and 々 〆), for telling kanji-only Japanese and Chinese from other letters.
KANJI = re.compile(r"[\u3005\u3006\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# Hiragana and katakana (after NFKC, half-width katakana are full-width),
# without の: Chinese spam inserts の for 的 to pass "any hiragana" filters.
KANA = re.compile(r"[\u3041-\u306d\u306f-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe]")
# Below this share of kana among the letters (web and mail addresses left
# out), a message is not Japanese: a pitch in English that ends in
# 「よろしくお願いします。」 (4 %) or in Chinese with one を (2 %). Measured on
# tests/corpus/: the spam that tries it is at 2–5 %, Japanese customers at
# 7.7 % at the fewest (a kanji-only request ending in です), most above 30 %;
# English customers who close with ありがとうございます are at 11–14 %.
KANA_MIN_SHARE = 0.06
# What a web or mail address is, for leaving it out of the kana share.
ADDRESS = re.compile(r"(?:https?://|www\.)[\x21-\x7e]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def kana_share(message: str) -> float:
    """The share of kana among the letters of ``message`` (normalised), web and mail addresses left out."""
    text = ADDRESS.sub(" ", message)
    letters = sum(1 for char in text if char.isalpha())
    return len(KANA.findall(text)) / letters if letters else 0.0


def written_in_japanese_kanji(message: str) -> bool:
    """Whether ``message`` (normalised) is Japanese written in kanji alone (KANJI_MIN_SHARE)."""
    text = ADDRESS.sub(" ", message)
    letters = sum(1 for char in text if char.isalpha())
    kanji = "".join(KANJI.findall(text))
    if not kanji or len(kanji) < KANJI_MIN_SHARE * letters:
        return False
    try:
        # cp932 (Windows' Shift_JIS): JIS X 0208 and the NEC/IBM kanji of
        # Japanese names (髙, 﨑).
        kanji.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Visitor:
    """Who sends a submission, as far as the rules need to know: what they read, which site is theirs.

    ``page_language``: the language the form's page was served in
    (``get_language()`` during the request); ``languages``: those the
    browser asks for (``Accept-Language``), None when it names none (many
    bots send no header: no evidence either way); ``host``: the site's own
    host, whose pages a customer links to.
    """

    page_language: str = ""
    languages: tuple[str, ...] | None = None
    host: str = ""

    @classmethod
    def of(cls, request: HttpRequest) -> Visitor:
        languages = tuple(lang for lang, _q in parse_accept_lang_header(request.headers.get("accept-language", "")))
        try:
            host = split_domain_port(request.get_host())[0]
        except DisallowedHost:
            host = ""
        return cls(get_language() or "", languages or None, host.removeprefix("www."))

    @property
    def reads_japanese(self) -> bool:
        """False on a page in another language, or when the browser asks for languages and not Japanese."""
        if self.page_language and not self.page_language.startswith("ja"):
            return False
        return self.languages is None or any(lang == "*" or lang.split("-")[0] == "ja" for lang in self.languages)

    def asks_for_language_of(self, message: str) -> bool:
        """Whether the browser asks for a language besides Japanese that ``message`` (normalised) is written in.

        Told by the letters: mostly Han characters (not Japanese kanji, which
        ``written_in_japanese_kanji`` passes) is Chinese; other letters are
        any other language's. A resident of Japan whose browser asks for
        "ja, en" and who writes in English is not asked to write Japanese.
        """
        asked = {lang.split("-")[0] for lang in self.languages or ()} - {"ja", "*"}
        text = ADDRESS.sub(" ", message)
        letters = sum(1 for char in text if char.isalpha())
        if letters and len(KANJI.findall(text)) * 2 >= letters:
            return "zh" in asked
        return bool(asked - {"zh"})


# A sender of whom nothing is known: read as one who reads Japanese.
UNKNOWN_VISITOR = Visitor()
