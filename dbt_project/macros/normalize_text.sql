{#
    Normalize a published text for display and comparison.

    Steps, in order:
    1. Line breaks, tabs and every Unicode space separator (U+0020, U+00A0,
       U+3000, U+2000-U+200A, ...) become a plain space.
    2. Invisible characters (U+200B-U+200F, U+2060, U+FEFF, U+00AD) and the
       remaining control characters are removed.
    3. Full-width ASCII forms (U+FF01-U+FF5E) become half-width, except the
       marks that Chinese text writes full-width as punctuation: ！（），：；？.
       Those stay, so a display name keeps （） where the source used them.
    4. Runs of spaces collapse to one space, and the result is trimmed.

    Returns null for null input and '' for input that is only whitespace or
    invisible characters; callers wrap the result in nullif(..., '').
#}
{% macro normalize_text(expression) -%}
trim(regexp_replace(
    translate(
        regexp_replace(
            regexp_replace(
                {{ expression }},
                '[\t\n\x0B\f\r\x{0085}\x{2028}\x{2029}\p{Zs}]', ' ', 'g'
            ),
            '[\x{200B}-\x{200F}\x{2060}\x{FEFF}\x{00AD}\p{Cc}]', '', 'g'
        ),
        '＂＃＄％＆＇＊＋－．／０１２３４５６７８９＜＝＞＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～',
        '"#$%&''*+-./0123456789<=>@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~'
    ),
    ' +', ' ', 'g'
))
{%- endmacro %}


{#
    Build the comparison key of a name: the normalized text with every
    whitespace character and every punctuation mark of either width removed,
    lower-cased. 事项名称 that differ only in （） versus (), spacing or
    full-width letters get the same key.
#}
{% macro text_match_key(expression) -%}
lower(regexp_replace({{ normalize_text(expression) }}, '[[:space:][:punct:]\p{P}]', '', 'g'))
{%- endmacro %}
