"""Rewrite an answer's LaTeX (or plain text) into the small vocabulary the tokenizer reads.

Everything here is a regular-expression pass or a linear scan, so its cost is linear in the
length of the answer; the verifier refuses answers longer than `MathConfig.max_answer_chars`
before reaching this module.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["LEADING_APPROX", "clean", "rewrites", "strip_trailing_units"]

# Responses serialised twice arrive with every backslash doubled ("\\\\frac"). Only known
# command names are undoubled: "\\\\" followed by a letter is also a LaTeX row break.
_DOUBLE_ESCAPED: Final = re.compile(
    r"(?<!\\)\\\\(?=(?:frac|dfrac|tfrac|sqrt|boxed|left|right|text|mathrm|pi|cdot|times|le|ge|leq|geq|"
    r"in|infty|begin|end|pm|cup|sin|cos|tan|log|ln|quad|circ|neq|lt|gt|mathbf|dots|alpha|beta|"
    r"theta)(?![a-zA-Z]))"
)
_SIZED: Final = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg)(?![a-zA-Z])\s*\.?"
)
_QUAD: Final = re.compile(r"\\q?quad")
_SPACING: Final = re.compile(
    r"(?<!\\)\\[,;:! ]|\\(?:displaystyle|textstyle|limits|nolimits|enspace|thinspace|medspace|"
    r"thickspace|negthinspace|hfill|noindent|phantom\{[^{}]*\}|hspace\*?\{[^{}]*\}|"
    r"vspace\*?\{[^{}]*\}|mkern\s*-?[\d.]*mu)(?![a-zA-Z])|~"
)
_FRAC_VARIANTS: Final = re.compile(r"\\[dtc]frac(?![a-zA-Z])")
_BINOM_VARIANTS: Final = re.compile(r"\\[dt]binom(?![a-zA-Z])")
_DEGREES: Final = re.compile(
    r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\^\s*\{\s*\\degree\s*\}|\\degree|\\circ(?![a-zA-Z])|°|\^\s*\{\s*o\s*\}"
)
_PERCENT_WORD: Final = re.compile(r"(?<=[\d}\s])\s*(?:percentage|percent|pct)(?![a-zA-Z])", re.I)
_CURRENCY: Final = re.compile(r"\\\$|\\(?:euro|pounds|yen)(?![a-zA-Z])|[€£¥]|\bUSD\b|\bRs\.?")
_DELIMS: Final = re.compile(r"\$|\\\(|\\\)|\\\[|\\\]")
_THOUSANDS_BRACE: Final = re.compile(r"\{,\}|,\\!\s*")
_UNIT_POWER: Final = re.compile(
    r"(\\(?:text|mbox|mathrm|textnormal|textrm)\s*\{\s*[A-Za-z ]+\})\s*\^\s*\{?\s*[23]\s*\}?"
)
_MATHOPS: Final = re.compile(r"\\(?:mathbf|boldsymbol|mathit|bm|mathsf|mathnormal)\s*\{([^{}]*)\}")
_OPERATORNAME: Final = re.compile(r"\\operatorname\*?\s*\{\s*([a-zA-Z]+)\s*\}")
_SPACE_THOUSANDS: Final = re.compile(r"^-?\d{1,3}(?: \d{3})+(?:\.\d+)?$")
_REPEATING: Final = re.compile(r"(\d*)\.(\d*)\\overline\s*\{\s*(\d{1,20})\s*\}")
_GLUED_CONNECTOR: Final = re.compile(r"(?<=[\d)}])(?:or|and)(?=[A-Za-z(\\])")
_PY_POWER: Final = re.compile(r"(?<=[\w)}])\s*\*\*\s*(?=[\w({\-])")
_NUMBER_WORDS: Final = {
    word: str(value)
    for value, word in enumerate(
        (
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        )
    )
} | {
    "thirty": "30",
    "forty": "40",
    "fifty": "50",
    "sixty": "60",
    "seventy": "70",
    "eighty": "80",
    "ninety": "90",
    "hundred": "100",
    "thousand": "1000",
}
_NUMBER_WORD: Final = re.compile(
    r"^(?:\\text\s*\{\s*)?(" + "|".join(_NUMBER_WORDS) + r")(?:\s*\})?$", re.I
)
_MULTI_COMMA: Final = re.compile(r"(?:\s*,){2,}")
# Ordinal suffixes: 7^{\text{th}}, 2^{nd}, 3^\text{rd}, 7\text{th}, 21st (the value is the number).
_TEXT_CMD = r"\\(?:text|mathrm|textrm|mbox|textnormal|textit)\s*"
_ORDINAL: Final = re.compile(
    rf"(?<![\w.])(\d+)\s*(?:\^\s*\{{\s*(?:{_TEXT_CMD})?\{{?\s*(?:st|nd|rd|th)\s*\}}?\s*\}}"
    rf"|\^\s*{_TEXT_CMD}\{{\s*(?:st|nd|rd|th)\s*\}}"
    rf"|{_TEXT_CMD}\{{\s*(?:st|nd|rd|th)\s*\}}"
    r"|(?:st|nd|rd|th)\b)"
)
# "7 to 3" and "7 \text{ to } 3" are the ratio 7:3 (between two whole numbers only).
_RATIO_WORDS: Final = re.compile(
    r"(?<![\w.])(\d{1,12})\s*(?:\\text\s*\{\s*to\s*\}|\bto\b)\s*(\d{1,12})(?![\w.])"
)
# "3.46 (rounded)", "12 (approximately)": a remark in parentheses after a value.
_TRAILING_REMARK: Final = re.compile(r"(?<=[\d}])\s*\(\s*[A-Za-z]{3,}[A-Za-z\s.,\-]*\)\s*$")
# "for k \in \mathbb{Z}", "where n is an integer", "for any integer k" after a solution
# family: rewritten as ", k \in \mathbb{Z}", which `compare` reads as a declaration.
_OPT_TEXT = r"(?:\\text\s*\{)?"
_CLOSE_TEXT = r"\s*\}?"
_DECLARE_IN: Final = re.compile(
    rf",?\s*\(?\s*{_OPT_TEXT}\s*,?\s*(?:for|where|with)\s*(?:some|any|all|every|each)?\s*"
    rf"(?:integers?)?{_CLOSE_TEXT}\s*([a-zA-Z])\s*\\in\s*\\mathbb\s*\{{?\s*Z\s*\}}?\s*\)?"
)
_DECLARE_IS: Final = re.compile(
    rf",?\s*{_OPT_TEXT}\s*,?\s*(?:for|where|with)\s*{_CLOSE_TEXT}\s*\$?([a-zA-Z])\$?\s*{_OPT_TEXT}\s*"
    rf"(?:is\s+)?(?:an?\s+)?(?:arbitrary\s+|any\s+)?integers?{_CLOSE_TEXT}"
)
_DECLARE_ANY: Final = re.compile(
    rf",?\s*{_OPT_TEXT}\s*,?\s*(?:for|where)\s+(?:some|any|all|every|each)\s+integers?"
    rf"{_CLOSE_TEXT}\s*([a-zA-Z])(?![a-zA-Z])"
)
# A leading "approximately" sign states a rounded value: "\approx 0.79" (read by `verify`).
LEADING_APPROX: Final = re.compile(r"^\s*(?:\\approx|\\simeq|≈)\s*")

_UNICODE: Final = {
    "−": "-",
    "–": "-",
    "×": "*",
    "·": "*",
    "⋅": "*",
    "÷": "/",
    "≤": "<=",
    "⩽": "<=",
    "≥": ">=",
    "⩾": ">=",
    "≠": "!=",
    "∞": "\\infty ",
    "π": "\\pi ",
    "√": "\\sqrt",
    "±": "\\pm ",
    "∓": "\\mp ",
    "∪": "\\cup ",
    "∩": "\\cap ",
    "∈": "\\in ",
    "ℤ": "\\mathbb{Z}",
    "²": "^2",
    "³": "^3",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "：": ":",
    "，": ",",
}
_UNICODE_RE: Final = re.compile("|".join(re.escape(k) for k in _UNICODE))

_UNIT_WORDS: Final = (
    "cm|mm|km|m|kg|mg|g|ft|feet|foot|in|inch|inches|yd|yards?|mi|miles?|meters?|metres?|"
    "centimeters?|millimeters?|kilometers?|kilograms?|grams?|pounds?|lbs?|oz|ounces?|"
    "s|sec|seconds?|min|minutes?|h|hr|hrs|hours?|days?|weeks?|months?|years?|"
    "ml|mL|L|liters?|litres?|gallons?|units?|sq|square|cubic|degrees?|deg|rad|radians?|"
    "dollars?|cents?|yuan|euros?|points?|people|persons?|students?|ways?|times|"
    "mph|km/h|m/s|cm\\^2|m\\^2|cm\\^3|m\\^3"
)
_TRAILING_UNITS: Final = re.compile(
    rf"(?<=[\d}}.)\s])\s*(?:(?:{_UNIT_WORDS})(?:\^?\{{?[23]\}}?)?\s*)+\.?$"
)


def clean(text: str) -> str:
    """Normalise spelling variants so that one tokenizer reads every answer.

    Example:
        >>> clean(r"$\\dfrac{1}{2}\\,\\text{cm}$")
        '\\\\frac{1}{2} \\\\text{cm}'
        >>> clean("1 000")
        '1000'
    """
    s = _DOUBLE_ESCAPED.sub(r"\\", text)
    s = _UNICODE_RE.sub(lambda m: _UNICODE[m.group()], s)
    s = _CURRENCY.sub(" ", s)
    s = _DELIMS.sub(" ", s)
    s = _SIZED.sub("", s)
    s = _QUAD.sub(",", s)
    s = _THOUSANDS_BRACE.sub(",", s)
    s = _SPACING.sub(" ", s)
    s = _FRAC_VARIANTS.sub(r"\\frac", s)
    s = _BINOM_VARIANTS.sub(r"\\binom", s)
    s = _DEGREES.sub("°", s)
    s = _REPEATING.sub(_repeating_fraction, s)
    s = s.replace("\\%", "%").replace("％", "%")
    s = _PERCENT_WORD.sub("%", s)
    s = _UNIT_POWER.sub(r"\1", s)
    s = _GLUED_CONNECTOR.sub(" , ", s)  # "x=1orx=2" with its spaces lost
    s = _OPERATORNAME.sub(r"\\\1 ", s)
    s = _MATHOPS.sub(r"\1", s)
    s = _PY_POWER.sub("^", s)  # x**2 written the Python way
    s = _ORDINAL.sub(r"\1", s)
    s = _RATIO_WORDS.sub(r"\1:\2", s)
    s = _TRAILING_REMARK.sub("", s)
    if "integer" in s or "mathbb" in s:
        for pattern in (_DECLARE_IN, _DECLARE_IS, _DECLARE_ANY):
            s = pattern.sub(r", \1 \\in \\mathbb{Z}", s)
    s = s.strip().rstrip(".;").strip()
    word = _NUMBER_WORD.match(s)
    if word:  # "four", \text{four}: a whole answer that is one number word
        s = _NUMBER_WORDS[word.group(1).lower()]
    s = _MULTI_COMMA.sub(",", s).strip(",").strip()
    if _SPACE_THOUSANDS.match(s):
        s = s.replace(" ", "")
    return s


def strip_trailing_units(text: str) -> str:
    """Drop plain unit words after a number (``35 cm``, ``12 miles``, ``5 sq ft``).

    Example:
        >>> strip_trailing_units("35 cm")
        '35'
    """
    return _TRAILING_UNITS.sub("", text).strip()


def _repeating_fraction(match: re.Match[str]) -> str:
    """``0.1\\overline{6}`` as the exact fraction ``\\frac{15}{90}``."""
    whole, fixed, repeat = match.group(1) or "0", match.group(2), match.group(3)
    numerator = int(whole + fixed + repeat) - int(whole + fixed)
    denominator = (10 ** len(repeat) - 1) * 10 ** len(fixed)
    return f"\\frac{{{numerator}}}{{{denominator}}}"


_REWRITE_TRIGGER: Final = re.compile(r"[A-Za-z\\≈ℤ∈]")
_ORDINAL_MARK: Final = re.compile(r"\d\s*\^?\s*\{?\s*(?:\\[a-z]+\s*\{)?\s*(?:st|nd|rd|th)\b")
_INTEGER_SET: Final = re.compile(r"(?:\\in|∈)\s*(?:\\mathbb\s*\{?\s*Z|ℤ)")
_UNIT_AFTER_NUMBER: Final = re.compile(
    r"\d\s*\\(?:text|mbox|mathrm)\s*\{\s*[A-Za-z]|\d\s+[A-Za-z]{2,}"
)
_LEADING_WORDS: Final = re.compile(r"^\s*\\(?:text|mbox|mathrm)\s*\{\s*[A-Za-z][^{}]*\}\s*[-\d]")
_SCALE_WORD: Final = re.compile(r"\b(?:dozens?|hundreds?|thousands?|millions?|billion|trillion)\b")


def rewrites(answer: str) -> list[str]:
    """Names of the reading rules that applied to an extracted answer (for `Score.info`):
    ``ordinal_suffix`` (``7^{\\text{th}}``), ``approximately_sign`` (``\\approx 0.79``),
    ``integer_declaration`` (``k \\in \\mathbb{Z}``, "where n is an integer"),
    ``unit_words`` (``40 \\text{ cookies}``), ``scale_word`` ("4 dozen"), ``leading_words``
    (``\\text{There are } 5``).

    Example:
        >>> rewrites(r"7^{\\text{th}}")
        ['ordinal_suffix']
    """
    if not _REWRITE_TRIGGER.search(answer):  # plain numbers: nothing was rewritten
        return []
    found = []
    if _ORDINAL_MARK.search(answer):
        found.append("ordinal_suffix")
    if LEADING_APPROX.match(answer):
        found.append("approximately_sign")
    if _INTEGER_SET.search(answer) or any(p.search(answer) for p in (_DECLARE_IS, _DECLARE_ANY)):
        found.append("integer_declaration")
    if _SCALE_WORD.search(answer):
        found.append("scale_word")
    elif _UNIT_AFTER_NUMBER.search(answer) and "ordinal_suffix" not in found:
        found.append("unit_words")
    if _LEADING_WORDS.match(answer):
        found.append("leading_words")
    return found
