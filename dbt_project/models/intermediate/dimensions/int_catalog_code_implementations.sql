with

evidence as (

    select * from {{ ref('int_service_item_evidence') }}

),

final as (

    select
        service_item_id,
        task_code,
        catalog_code,
        implementation_region_code,
        has_usable_link,
        accept_condition,
        materials,
        time_limit,
        is_fee

    from evidence
    where catalog_code is not null
        and implementation_region_code is not null

)

select * from final
