with

overrides as (

    select * from {{ source('editorial_themes', 'theme_step_overrides') }}

),

service_items as (

    select service_item_id, task_code from {{ ref('fct_service_item') }}

),

rule_matches as (

    select distinct theme_id, step_id, service_item_id from {{ ref('int_theme_step_matches') }}

),

resolved as (

    -- An override names its service by service_item_id or by 实施编码; a 实施编码 shared by
    -- several service items applies the override to each of them.
    select
        overrides.*,
        service_items.service_item_id as resolved_service_item_id

    from overrides
    left join service_items
        on service_items.service_item_id = overrides.service_item_id
        or service_items.task_code = overrides.task_code

),

final as (

    select
        resolved.override_id,
        resolved.theme_id,
        resolved.step_id,
        resolved.action,
        resolved.task_code,
        resolved.resolved_service_item_id as service_item_id,
        resolved.reason,
        resolved.reviewer,
        resolved.reviewed_on,
        case
            when resolved.resolved_service_item_id is null then 'service_not_found'
            when resolved.action = 'add' and rule_matches.service_item_id is not null then 'already_matched'
            when resolved.action = 'remove' and rule_matches.service_item_id is null then 'not_matched'
            else 'applied'
        end as application_status

    from resolved
    left join rule_matches
        on rule_matches.theme_id = resolved.theme_id
        and rule_matches.step_id = resolved.step_id
        and rule_matches.service_item_id = resolved.resolved_service_item_id

)

select * from final
