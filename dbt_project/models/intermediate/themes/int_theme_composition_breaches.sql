-- One row per theme, dimension and composition principle that the theme breaks, with the
-- message editors read. A theme without services breaks every min_primary_share principle.
with

shares as (

    select * from {{ ref('int_theme_composition_shares') }}

),

themes as (

    select theme_id, theme_name from {{ source('editorial_themes', 'theme_definitions') }}

),

principles as (

    select * from {{ source('editorial_themes', 'theme_composition_principles') }}

),

evaluated as (

    select
        shares.*,
        themes.theme_name,
        principles.principle_id,
        principles.principle_name,
        principles.principle_kind,
        principles.threshold,
        principles.action,
        case principles.principle_kind
            when 'min_primary_share' then coalesce(shares.primary_share, 0) < principles.threshold
            when 'max_unknown_share' then coalesce(shares.unknown_share, 0) > principles.threshold
            when 'max_secondary_to_primary_ratio'
                then shares.secondary_count > principles.threshold * shares.primary_count
        end as is_breached

    from shares
    inner join principles on principles.dimension = shares.dimension
    inner join themes on themes.theme_id = shares.theme_id

),

final as (

    select
        theme_id,
        dimension,
        principle_id,
        principle_name,
        principle_kind,
        threshold,
        action,
        case principle_kind
            when 'min_primary_share' then
                '主题“' || theme_name || '”在“' || dimension_label || '”维度上为主事项占比 '
                || printf('%.1f%%', 100 * coalesce(primary_share, 0)) || '（' || primary_count || '/' || service_count
                || ' 项），低于原则“' || principle_name || '”的阈值 ' || printf('%.1f%%', 100 * threshold) || '。'
            when 'max_unknown_share' then
                '主题“' || theme_name || '”在“' || dimension_label || '”维度上未知事项占比 '
                || printf('%.1f%%', 100 * coalesce(unknown_share, 0)) || '（' || unknown_count || '/' || service_count
                || ' 项），高于原则“' || principle_name || '”的阈值 ' || printf('%.1f%%', 100 * threshold) || '。'
            when 'max_secondary_to_primary_ratio' then
                '主题“' || theme_name || '”在“' || dimension_label || '”维度上为辅事项 ' || secondary_count
                || ' 项，超过为主事项 ' || primary_count || ' 项的 ' || printf('%g', threshold)
                || ' 倍，违反原则“' || principle_name || '”。'
        end
        || case action when 'block' then '该主题暂不发布。' else '请编辑核查。' end as message_zh

    from evaluated
    where is_breached

)

select * from final
