{#
    SQL expression for the id of the pipeline run that builds the models. The transform flow
    passes it as the dbt var huiju_run_id. A build without the var (dbt run by hand, the dbt
    model tests) uses the newest landing run id among the fetched records.
#}
{% macro current_run_id() -%}
    {%- set run_id = var('huiju_run_id', none) -%}
    {%- if run_id -%}
        {%- if not modules.re.match('^[0-9A-Za-z_.:-]+$', run_id) -%}
            {{ exceptions.raise_compiler_error("dbt var huiju_run_id " ~ run_id ~ " is invalid: use letters, digits and _ . : - only") }}
        {%- endif -%}
        '{{ run_id }}'
    {%- else -%}
        (select max(run_id) from {{ ref('int_service_items_codes_parsed') }})
    {%- endif -%}
{%- endmacro %}
