{#
    SQL expression for the id of the pipeline run that builds the models. The transform flow
    sets it in the environment variable HUIJU_RUN_ID rather than as a dbt var: a var that
    changes makes dbt parse the whole project again, while an environment variable makes it
    parse again only the files that use it. A build without it (dbt run by hand, the dbt model
    tests) uses the newest landing run id among the fetched records.
#}
{% macro current_run_id() -%}
    {%- set run_id = env_var('HUIJU_RUN_ID', '') -%}
    {%- if run_id -%}
        {%- if not modules.re.match('^[0-9A-Za-z_.:-]+$', run_id) -%}
            {{ exceptions.raise_compiler_error("HUIJU_RUN_ID " ~ run_id ~ " is invalid: use letters, digits and _ . : - only") }}
        {%- endif -%}
        '{{ run_id }}'
    {%- else -%}
        (select max(run_id) from {{ ref('int_service_items_codes_parsed') }})
    {%- endif -%}
{%- endmacro %}
