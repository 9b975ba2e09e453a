{#
    SCD type 2 history of fct_service_item: one row per service item and version of its tracked
    attributes. A build opens a row for a new item, or for an item whose attributes changed, and
    closes the row it replaces (valid_to, closed_run_id). An item missing from fct_service_item
    is withdrawn, because a source's raw rows always hold its whole catalog, so its open row is
    closed with close_reason 'withdrawn'. A withdrawn item that comes back opens a new row.
    full_refresh is off because a rebuild would lose every closed row.
#}
{{ config(materialized='incremental', unique_key='history_row_id', full_refresh=false) }}

with

service_items as (

    select * from {{ ref('fct_service_item') }}

),

current_versions as (

    select
        service_item_id,
        task_name,
        task_code,
        catalog_code,
        region_code,
        task_type_code,
        task_type_label,
        department_id,
        dept_name,
        dept_code,
        link_url,
        md5(to_json({
            'task_name': task_name,
            'task_code': task_code,
            'catalog_code': catalog_code,
            'region_code': region_code,
            'task_type_code': task_type_code,
            'dept_name': dept_name,
            'dept_code': dept_code,
            'link_url': link_url
        })::varchar) as attributes_hash,
        {{ current_run_id() }} as run_id,
        current_timestamp as built_at

    from service_items

),

{% if is_incremental() %}

open_rows as (

    select * from {{ this }}
    where valid_to is null

),

opened as (

    select current_versions.*
    from current_versions
    left join open_rows using (service_item_id)
    where open_rows.service_item_id is null
        or open_rows.attributes_hash != current_versions.attributes_hash

),

closed as (

    select
        open_rows.* exclude (valid_to, closed_run_id, is_current, close_reason),
        run.built_at as valid_to,
        run.run_id as closed_run_id,
        false as is_current,
        case
            when current_versions.service_item_id is null then 'withdrawn'
            else 'changed'
        end as close_reason

    from open_rows
    left join current_versions using (service_item_id)
    cross join (select {{ current_run_id() }} as run_id, current_timestamp as built_at) as run
    where current_versions.service_item_id is null
        or current_versions.attributes_hash != open_rows.attributes_hash

),

{% else %}

opened as (

    select * from current_versions

),

{% endif %}

new_rows as (

    select
        md5(service_item_id || '|' || run_id || '|' || built_at::varchar) as history_row_id,
        service_item_id,
        task_name,
        task_code,
        catalog_code,
        region_code,
        task_type_code,
        task_type_label,
        department_id,
        dept_name,
        dept_code,
        link_url,
        attributes_hash,
        built_at as valid_from,
        cast(null as timestamptz) as valid_to,
        run_id as opened_run_id,
        cast(null as varchar) as closed_run_id,
        true as is_current,
        cast(null as varchar) as close_reason

    from opened

),

final as (

    select * from new_rows
    {% if is_incremental() %}
    union all by name
    select * from closed
    {% endif %}

)

select * from final
