-- Every service item of fct_service_item has exactly one open history row, and no item
-- missing from fct_service_item (a withdrawn one) has an open row.
with

open_rows as (

    select service_item_id, count(*) as open_row_count
    from {{ ref('fct_service_item_history') }}
    where valid_to is null
    group by service_item_id

),

items as (

    select service_item_id
    from {{ ref('fct_service_item') }}

)

select
    coalesce(items.service_item_id, open_rows.service_item_id) as service_item_id,
    open_rows.open_row_count
from items
full outer join open_rows using (service_item_id)
where open_rows.service_item_id is null
    or items.service_item_id is null
    or open_rows.open_row_count != 1
