{#
    One row per theme and form of content with the number of items found; is_gap marks a form
    that the theme lacks, so that editors see it instead of an empty section.
#}

with

themes as (

    select theme_id, theme_name, theme_position from {{ source('editorial_themes', 'theme_definitions') }}

),

forms as (

    select * from (values
        ('notice', '通知公告', 1),
        ('policy_document', '政策文件', 2),
        ('policy_interpretation', '政策解读', 3),
        ('service_guide', '办事指南', 4),
        ('business_system', '业务应用系统', 5)
    ) as forms (content_kind, content_kind_label, kind_order)

),

counts as (

    select theme_id, content_form as content_kind, count(*) as content_count
    from {{ ref('mart_theme_content') }}
    group by all

),

final as (

    select
        themes.theme_id,
        themes.theme_name,
        forms.content_kind,
        forms.content_kind_label,
        coalesce(counts.content_count, 0) as content_count,
        coalesce(counts.content_count, 0) = 0 as is_gap

    from themes
    cross join forms
    left join counts
        on themes.theme_id = counts.theme_id
        and forms.content_kind = counts.content_kind
    order by themes.theme_position, forms.kind_order

)

select * from final
