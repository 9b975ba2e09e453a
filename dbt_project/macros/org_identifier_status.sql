{#
    Classify a published organisation identifier (实施主体编码, or the agency
    segment of 实施编码) into one of the code statuses of the marts:

    missing                    null, empty or only whitespace.
    placeholder                4 or more characters, ignoring hyphens, that are
                               all the same character, such as 2222222222222
                               or 0000000000.
    valid_uscc                 18-character unified social credit code whose
                               GB 32100 check character and embedded
                               organisation code (characters 9-17, GB 11714
                               check) are both correct.
    lowercase_check_character  a USCC or organisation code that contains lower
                               case but is valid once upper-cased, such as
                               11511301452259996u.
    invalid_check_character    USCC or organisation code shape, but a check
                               character (or the embedded organisation code's
                               check character) is wrong.
    valid_org_code             organisation code XXXXXXXX-X or XXXXXXXXX with a
                               correct GB 11714 check character, upper case only.
    truncated                  17 characters of the USCC shape (the check
                               character is missing), or 7-8 characters of
                               digits and letters (an organisation code without
                               its check character).
    malformed                  anything else, such as 11736, the 19-digit
                               internal id 4431152073643597824,
                               1151130108778239R_5143 or 0087790701.

    The value is only trimmed, never upper-cased, before it is classified, so
    lower case is detected.
#}
{% macro org_identifier_status(expression) -%}
{%- set published = 'trim(' ~ expression ~ ')' -%}
{%- set upper_cased = 'upper(trim(' ~ expression ~ '))' -%}
{%- set without_hyphens = "replace(trim(" ~ expression ~ "), '-', '')" -%}
{%- set uscc_charset = '[0-9A-HJ-NPQRTUWXY]' -%}
case
    when {{ published }} is null or {{ published }} = '' then 'missing'

    when length({{ without_hyphens }}) >= 4
        and replace({{ without_hyphens }}, left({{ without_hyphens }}, 1), '') = ''
        then 'placeholder'

    when regexp_matches({{ upper_cased }}, '^{{ uscc_charset }}{2}[0-9]{6}{{ uscc_charset }}{10}$')
        then case
            when {{ uscc_check_character(upper_cased) }} = substr({{ upper_cased }}, 18, 1)
                and {{ org_code_check_character('substr(' ~ upper_cased ~ ', 9, 8)') }} = substr({{ upper_cased }}, 17, 1)
                then case
                    when {{ published }} = {{ upper_cased }} then 'valid_uscc'
                    else 'lowercase_check_character'
                end
            else 'invalid_check_character'
        end

    when regexp_matches({{ upper_cased }}, '^[0-9A-Z]{8}-?[0-9X]$')
        then case
            when {{ org_code_check_character(upper_cased) }} = right({{ upper_cased }}, 1)
                then case
                    when {{ published }} = {{ upper_cased }} then 'valid_org_code'
                    else 'lowercase_check_character'
                end
            else 'invalid_check_character'
        end

    when regexp_matches({{ upper_cased }}, '^{{ uscc_charset }}{2}[0-9]{6}{{ uscc_charset }}{9}$') then 'truncated'
    when regexp_matches({{ upper_cased }}, '^[0-9A-Z]{7,8}$') then 'truncated'
    else 'malformed'
end
{%- endmacro %}
