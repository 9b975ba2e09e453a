with

rules as (

    select distinct theme_id, theme_name from {{ source('editorial_content', 'theme_content_rules') }}

),

kinds as (

    select * from (values
        ('notice', '通知公告', 1),
        ('policy_document', '政策文件', 2),
        ('policy_interpretation', '政策解读', 3)
    ) as kinds (content_kind, content_kind_label, kind_order)

),

matches as (

    select theme_id, content_kind, count(*) as content_count
    from {{ ref('bridge_theme_content') }}
    group by all

),

final as (

    select
        rules.theme_id,
        rules.theme_name,
        kinds.content_kind,
        kinds.content_kind_label,
        coalesce(matches.content_count, 0) as content_count,
        coalesce(matches.content_count, 0) = 0 as is_gap

    from rules
    cross join kinds
    left join matches
        on rules.theme_id = matches.theme_id
        and kinds.content_kind = matches.content_kind
    order by rules.theme_id, kinds.kind_order

)

select * from final
