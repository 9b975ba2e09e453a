-- One row per theme step that has no service, with the reason editors read.
with

themes as (

    select * from {{ source('editorial_themes', 'theme_definitions') }}

),

steps as (

    select * from {{ source('editorial_themes', 'theme_steps') }}

),

matchers as (

    select
        theme_id,
        step_id,
        string_agg(
            concat_ws(
                ' 且 ',
                case when catalog_code_prefix is not null then '基本编码以 ' || catalog_code_prefix || ' 开头' end,
                case when name_pattern is not null then '事项名称符合“' || name_pattern || '”' end,
                case when department_pattern is not null then '实施主体符合“' || department_pattern || '”' end
            ),
            '；或 ' order by matcher_id
        ) as matcher_text

    from {{ source('editorial_themes', 'theme_step_matchers') }}
    group by theme_id, step_id

),

step_services as (

    select theme_id, step_id, count(*) as service_count
    from {{ ref('int_theme_step_services') }}
    group by theme_id, step_id

),

removed as (

    select theme_id, step_id, count(distinct service_item_id) as removed_count
    from {{ ref('int_theme_override_applications') }}
    where action = 'remove' and application_status = 'applied'
    group by theme_id, step_id

),

final as (

    select
        themes.theme_id,
        themes.theme_name,
        (themes.active_from is null or themes.active_from <= current_date)
            and (themes.active_to is null or themes.active_to >= current_date) as is_active,
        steps.step_id,
        steps.step_position,
        steps.step_name,
        matchers.matcher_text,
        coalesce(removed.removed_count, 0) as removed_count,
        case
            when removed.removed_count > 0 then
                '步骤“' || steps.step_name || '”按规则匹配到的 ' || removed.removed_count
                || ' 项事项均已被人工修订移出，目前没有事项。'
            else
                '步骤“' || steps.step_name || '”在当前事项目录中没有符合规则（' || matchers.matcher_text
                || '）的事项，也没有人工添加的事项。'
        end as gap_reason

    from steps
    inner join themes on themes.theme_id = steps.theme_id
    left join matchers
        on matchers.theme_id = steps.theme_id
        and matchers.step_id = steps.step_id
    left join removed
        on removed.theme_id = steps.theme_id
        and removed.step_id = steps.step_id
    left join step_services
        on step_services.theme_id = steps.theme_id
        and step_services.step_id = steps.step_id
    where step_services.service_count is null

)

select * from final
