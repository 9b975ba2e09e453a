-- The history rows of one service item never overlap in time, and a closed row ends no earlier
-- than it starts.
select
    earlier.service_item_id,
    earlier.history_row_id as earlier_row_id,
    later.history_row_id as later_row_id
from {{ ref('fct_service_item_history') }} as earlier
inner join {{ ref('fct_service_item_history') }} as later
    on earlier.service_item_id = later.service_item_id
    and earlier.history_row_id != later.history_row_id
    and earlier.valid_from <= later.valid_from
where earlier.valid_to is null
    or earlier.valid_to > later.valid_from

union all

select service_item_id, history_row_id, null
from {{ ref('fct_service_item_history') }}
where valid_to < valid_from
