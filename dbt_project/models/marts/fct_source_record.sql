with

service_items as (

    select * from {{ ref('int_service_items_deduplicated') }}

),

final as (

    select
        source_record_id,
        source_id,
        source_format,
        run_id,
        landing_file,
        record_position,
        service_item_id,
        disposition,
        case when disposition = 'merged' then service_item_id end as merged_into_service_item_id,
        record

    from service_items

)

select * from final
