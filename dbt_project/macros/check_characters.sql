{#
    Check character of an 18-character unified social credit code
    (统一社会信用代码, GB 32100-2015) computed from its first 17 characters.
    The caller must pass an upper-case code whose first 17 characters are in
    the code's character set, because a character outside it has no value.
#}
{% macro uscc_check_character(code) -%}
{%- set charset = '0123456789ABCDEFGHJKLMNPQRTUWXY' -%}
{%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
substr(
    '{{ charset }}',
    (31 - ((
        {%- for weight in weights %}
        (strpos('{{ charset }}', substr({{ code }}, {{ loop.index }}, 1)) - 1) * {{ weight }}{{ ' +' if not loop.last }}
        {%- endfor %}
    ) % 31)) % 31 + 1,
    1
)
{%- endmacro %}


{#
    Check character of an organisation code (组织机构代码, GB 11714-1997)
    computed from its first 8 characters. Digits have values 0-9 and the
    letters A-Z have values 10-35. The caller must pass 8 upper-case digits
    or letters.
#}
{% macro org_code_check_character(code) -%}
{%- set weights = [3, 7, 9, 10, 5, 8, 4, 2] -%}
{%- set weighted_sum -%}
(
    {%- for weight in weights %}
    (strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr({{ code }}, {{ loop.index }}, 1)) - 1) * {{ weight }}{{ ' +' if not loop.last }}
    {%- endfor %}
)
{%- endset -%}
case 11 - {{ weighted_sum }} % 11
    when 10 then 'X'
    when 11 then '0'
    else cast(11 - {{ weighted_sum }} % 11 as varchar)
end
{%- endmacro %}
