{#
    Rows (rule_key, field_value, matched_text), one for every rule whose regular expression
    matches a value of the rule's field. values_cte has the columns match_field and
    field_value. rules_cte has rule_key, match_field and pattern, and rules_query selects the
    same three columns from the built relations.

    DuckDB compiles a pattern taken from a column once per row, which at a million values costs
    minutes. When the model runs, the rules are read with rules_query and each pattern is
    written into the SQL as a constant, which DuckDB compiles once. A unit test has no `this`
    and gives its rules as fixture rows, so there the patterns come from rules_cte row by row;
    both forms give the same rows.
#}
{% macro regex_hits(rules_cte, rules_query, values_cte) -%}
{%- set rules = none -%}
{%- if execute and this is not none -%}
    {%- set rules = run_query(rules_query).rows -%}
{%- endif -%}
{%- if rules is none %}
    select
        {{ rules_cte }}.rule_key,
        {{ values_cte }}.field_value,
        regexp_extract({{ values_cte }}.field_value, {{ rules_cte }}.pattern) as matched_text
    from {{ rules_cte }}
    inner join {{ values_cte }}
        on {{ rules_cte }}.match_field = {{ values_cte }}.match_field
    where regexp_matches({{ values_cte }}.field_value, {{ rules_cte }}.pattern)
{%- else %}
    {%- for rule in rules %}
    select
        {{ sql_literal(rule[0]) }} as rule_key,
        field_value,
        regexp_extract(field_value, {{ sql_literal(rule[2]) }}) as matched_text
    from {{ values_cte }}
    where match_field = {{ sql_literal(rule[1]) }}
        and regexp_matches(field_value, {{ sql_literal(rule[2]) }})
    union all
    {%- endfor %}
    select cast(null as varchar), cast(null as varchar), cast(null as varchar) where false
{%- endif %}
{%- endmacro %}

{#- A SQL string literal of value: single quotes doubled; DuckDB reads backslashes literally. -#}
{% macro sql_literal(value) -%}
    '{{ (value | string).replace("'", "''") }}'
{%- endmacro %}
