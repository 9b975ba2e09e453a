with

content_items as (

    select * from {{ ref('fct_content_item') }}

),

rules as (

    select * from {{ source('editorial_content', 'theme_content_rules') }}

),

candidates as (

    select
        rules.theme_id,
        rules.theme_name,
        content_items.content_id,
        content_items.content_kind,
        rules.rule_id,
        rules.rule_order,
        rules.match_field,
        case rules.match_field
            when 'title' then content_items.title
            when 'category' then content_items.category
            when 'publisher' then content_items.publisher
        end as matched_value,
        rules.keywords

    from rules
    inner join content_items
        on list_contains(rules.content_kinds, content_items.content_kind)

),

matched as (

    select
        *,
        list_filter(keywords, lambda keyword: contains(matched_value, keyword)) as matched_keywords

    from candidates
    where matched_value is not null

),

ranked as (

    select
        *,
        row_number() over (partition by theme_id, content_id order by rule_order, rule_id) as rule_rank,
        count(*) over (partition by theme_id, content_id) as matched_rule_count

    from matched
    where len(matched_keywords) > 0

),

final as (

    select
        theme_id,
        theme_name,
        content_id,
        content_kind,
        rule_id as matched_rule_id,
        match_field,
        matched_keywords,
        case match_field
            when 'title' then '标题'
            when 'category' then '分类'
            when 'publisher' then '发布机构'
        end || '“' || matched_value || '”含“' || array_to_string(matched_keywords, '、') || '”' as evidence,
        matched_rule_count

    from ranked
    where rule_rank = 1

)

select * from final
