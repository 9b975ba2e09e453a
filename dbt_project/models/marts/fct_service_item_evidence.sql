{#
    One row per fetched record with the service item it resolved to: the evidence that a source
    publishes the service. A service that a department site and the provincial portal both
    publish has two rows here and one row in fct_service_item. identity_resolved_by is left out
    because it changes from 'new' to 'task_code' between the first and second run of unchanged
    input, and published content must not change then.
#}
with

service_items as (

    select * from {{ ref('int_service_items_deduplicated') }}

),

final as (

    select
        source_record_id,
        service_item_id,
        source_id,
        source_format,
        record_position,
        task_name_raw as task_name,
        task_code,
        dept_name,
        link_url,
        has_identity_conflict,
        disposition = 'survivor' as is_survivor

    from service_items

)

select * from final
