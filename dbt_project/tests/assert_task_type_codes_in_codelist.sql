-- A row is a service item whose 事项类型 code is not in the task_type code
-- list. The code comes from the source, not from a model, so this test
-- warns instead of failing the build.
{{ config(severity='warn') }}

select
    service_items.service_item_id,
    service_items.source_record_id,
    service_items.task_type_code

from {{ ref('fct_service_item') }} as service_items
left join {{ ref('stg_reference__service_item_codelists') }} as codelists
    on codelists.field_name = 'task_type'
    and service_items.task_type_code = codelists.code
where service_items.task_type_code is not null
    and codelists.code is null
