{#
    DuckDB settings for the whole dbt run, applied by on-run-start. Both are global settings,
    so every dbt thread's connection has them.

    memory_limit stays at DuckDB's default (80 % of RAM) unless HUIJU_DBT_MEMORY_LIMIT sets it,
    such as 4GB. Above the limit DuckDB spills joins, sorts and most aggregates to
    `<warehouse>.tmp/`. Models without ORDER BY need not keep their input order, and dropping
    it lets DuckDB write them without buffering.
#}
{% macro duckdb_settings() -%}
{%- set memory_limit = env_var('HUIJU_DBT_MEMORY_LIMIT', '') -%}
{%- if memory_limit %}
set memory_limit = {{ sql_literal(memory_limit) }};
{%- endif %}
set preserve_insertion_order = false
{%- endmacro %}
