-- One row per theme and dimension: the shares of primary, secondary and unknown services, the
-- principles the theme breaks on that dimension, and the theme's publication result.
with

themes as (

    select * from {{ source('editorial_themes', 'theme_definitions') }}

),

shares as (

    select * from {{ ref('int_theme_composition_shares') }}

),

breaches as (

    select * from {{ ref('int_theme_composition_breaches') }}

),

dimension_breaches as (

    select
        theme_id,
        dimension,
        count(*) as breach_count,
        list(
            {'principle_id': principle_id, 'principle_name': principle_name, 'action': action, 'message_zh': message_zh}
            order by principle_id
        ) as breaches

    from breaches
    group by theme_id, dimension

),

theme_results as (

    select
        theme_id,
        case
            when bool_or(action = 'block') then 'block'
            when bool_or(action = 'warn') then 'warn'
        end as worst_action

    from breaches
    group by theme_id

),

final as (

    select
        shares.theme_id,
        themes.theme_name,
        themes.theme_position,
        themes.audience,
        (themes.active_from is null or themes.active_from <= current_date)
            and (themes.active_to is null or themes.active_to >= current_date) as is_active,
        shares.dimension_position,
        shares.dimension,
        shares.dimension_label,
        shares.service_count,
        shares.primary_count,
        shares.secondary_count,
        shares.unknown_count,
        shares.primary_share,
        shares.secondary_share,
        shares.unknown_share,
        coalesce(dimension_breaches.breach_count, 0) as breach_count,
        dimension_breaches.breaches,
        coalesce(theme_results.worst_action, 'pass') as theme_result

    from shares
    inner join themes on themes.theme_id = shares.theme_id
    left join dimension_breaches
        on dimension_breaches.theme_id = shares.theme_id
        and dimension_breaches.dimension = shares.dimension
    left join theme_results on theme_results.theme_id = shares.theme_id

)

select * from final
