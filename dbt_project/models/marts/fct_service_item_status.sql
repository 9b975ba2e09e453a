{#
    Incremental on purpose: the raw tables hold only each source's latest load, so this model
    is the only place that remembers items no source sends any more. A source's raw rows always
    hold its whole catalog: a full fetch replaces them and an updated-since fetch only replaces
    or adds rows. So an item missing from the current items was missing from a full fetch.
#}
{{ config(materialized='incremental', unique_key='service_item_id') }}

with

service_items as (

    select * from {{ ref('fct_service_item') }}

),

landing_files as (

    select * from {{ source('raw', 'landing_files') }}

),

source_loads as (

    select
        source_id,
        max(fetched_at) as fetched_at

    from landing_files
    group by source_id

),

current_items as (

    select
        service_items.service_item_id,
        service_items.source_id,
        service_items.task_name,
        service_items.task_code,
        service_items.dept_name,
        source_loads.fetched_at as seen_at

    from service_items
    left join source_loads using (source_id)

),

{% if is_incremental() %}

previous as (

    select * from {{ this }}

),

seen as (

    select
        current_items.service_item_id,
        current_items.source_id,
        current_items.task_name,
        current_items.task_code,
        current_items.dept_name,
        coalesce(previous.first_seen_at, current_items.seen_at) as first_seen_at,
        current_items.seen_at as last_seen_at,
        cast(null as timestamptz) as withdrawn_at,
        case
            when previous.is_withdrawn then current_items.seen_at
            else previous.restored_at
        end as restored_at,
        false as is_withdrawn

    from current_items
    left join previous using (service_item_id)

),

newly_missing as (

    -- The first load of the item's source that lacked it sets withdrawn_at.
    select
        previous.service_item_id,
        previous.source_id,
        previous.task_name,
        previous.task_code,
        previous.dept_name,
        previous.first_seen_at,
        previous.last_seen_at,
        coalesce(source_loads.fetched_at, previous.last_seen_at) as withdrawn_at,
        previous.restored_at,
        true as is_withdrawn

    from previous
    left join source_loads using (source_id)
    where not previous.is_withdrawn
        and previous.service_item_id not in (select service_item_id from current_items)

),

final as (

    select * from seen
    union all by name
    select * from newly_missing

)

{% else %}

final as (

    select
        service_item_id,
        source_id,
        task_name,
        task_code,
        dept_name,
        seen_at as first_seen_at,
        seen_at as last_seen_at,
        cast(null as timestamptz) as withdrawn_at,
        cast(null as timestamptz) as restored_at,
        false as is_withdrawn

    from current_items

)

{% endif %}

select * from final
