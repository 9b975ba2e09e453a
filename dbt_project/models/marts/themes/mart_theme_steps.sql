-- One row per theme step and service, primary services first within each step.
with

themes as (

    select * from {{ source('editorial_themes', 'theme_definitions') }}

),

steps as (

    select * from {{ source('editorial_themes', 'theme_steps') }}

),

step_services as (

    select * from {{ ref('int_theme_step_services') }}

),

service_items as (

    select * from {{ ref('fct_service_item') }}

),

dimension_summary as (

    select
        theme_id,
        service_item_id,
        any_value(dimension_value) filter (where dimension = 'resource_kind') as resource_kind,
        count(*) filter (where dimension_value = 'primary') as primary_dimension_count

    from {{ ref('int_theme_service_dimensions') }}
    group by theme_id, service_item_id

),

joined as (

    select
        themes.theme_id,
        themes.theme_name,
        themes.theme_position,
        themes.audience,
        (themes.active_from is null or themes.active_from <= current_date)
            and (themes.active_to is null or themes.active_to >= current_date) as is_active,
        steps.step_id,
        steps.step_position,
        steps.step_name,
        step_services.service_item_id,
        service_items.task_name,
        service_items.task_code,
        service_items.catalog_code,
        service_items.department_id,
        service_items.dept_name,
        service_items.link_url,
        step_services.matched_by,
        step_services.matcher_ids,
        step_services.matcher_kinds,
        step_services.evidence,
        step_services.override_id,
        dimension_summary.resource_kind,
        dimension_summary.primary_dimension_count

    from step_services
    inner join themes on themes.theme_id = step_services.theme_id
    inner join steps
        on steps.theme_id = step_services.theme_id
        and steps.step_id = step_services.step_id
    inner join service_items on service_items.service_item_id = step_services.service_item_id
    left join dimension_summary
        on dimension_summary.theme_id = step_services.theme_id
        and dimension_summary.service_item_id = step_services.service_item_id

),

final as (

    -- resource_kind primary first and secondary last, then more primary dimensions, then name.
    select
        *,
        row_number() over (
            partition by theme_id, step_id
            order by
                case resource_kind when 'primary' then 0 when 'unknown' then 1 else 2 end,
                primary_dimension_count desc,
                task_name,
                service_item_id
        ) as service_rank

    from joined

)

select * from final
