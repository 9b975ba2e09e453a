-- A row here is a published service item that does not have exactly one row per dimension
-- in fct_service_item_dimension.
with

service_items as (

    select service_item_id from {{ ref('fct_service_item') }}

),

dimension_counts as (

    select
        service_item_id,
        count(*) as row_count,
        count(distinct dimension) as dimension_count

    from {{ ref('fct_service_item_dimension') }}
    group by service_item_id

)

select
    service_items.service_item_id,
    coalesce(dimension_counts.row_count, 0) as row_count,
    coalesce(dimension_counts.dimension_count, 0) as dimension_count

from service_items
left join dimension_counts using (service_item_id)
where coalesce(dimension_counts.row_count, 0) != 8
    or coalesce(dimension_counts.dimension_count, 0) != 8
