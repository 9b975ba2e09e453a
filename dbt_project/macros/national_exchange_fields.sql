{#
    Column list of a staged service-item record whose fields carry the national exchange names
    (task_name, task_code, …), as the JSON API and the XML export publish them.
#}
{% macro national_exchange_fields(source_format) %}
        source_id,
        '{{ source_format }}' as source_format,
        run_id,
        landing_file,
        record_position,
        source_id || '#' || record_position as source_record_id,
        record ->> 'task_name' as task_name_raw,
        record ->> 'task_code' as task_code_raw,
        record ->> 'catalog_code' as catalog_code_raw,
        record ->> 'task_type' as task_type_raw,
        cast(null as varchar) as task_type_label_raw,
        record ->> 'dept_name' as dept_name_raw,
        record ->> 'dept_code' as dept_code_raw,
        record ->> 'link_addr' as link_url_raw,
        record ->> 'main_task_name' as main_task_name_raw,
        record
{%- endmacro %}
