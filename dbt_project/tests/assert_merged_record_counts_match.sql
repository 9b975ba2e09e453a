-- A row is a service item whose merged_record_count differs from the number
-- of fct_source_record rows that belong to it.
with

record_counts as (

    select service_item_id, count(*) as record_count
    from {{ ref('fct_source_record') }}
    group by service_item_id

),

final as (

    select
        service_items.service_item_id,
        service_items.merged_record_count,
        record_counts.record_count

    from {{ ref('fct_service_item') }} as service_items
    left join record_counts
        on service_items.service_item_id = record_counts.service_item_id
    where record_counts.record_count is distinct from service_items.merged_record_count

)

select * from final
