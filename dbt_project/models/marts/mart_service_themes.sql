with

service_items as (

    select * from {{ ref('fct_service_item') }}

),

theme_rules as (

    select * from {{ ref('stg_reference__theme_rules') }}

),

codelists as (

    select * from {{ ref('stg_reference__service_item_codelists') }}

),

theme_labels as (

    select
        case field_name
            when 'user_topic_type' then 'natural_person'
            when 'corp_topic_type' then 'legal_person'
        end as audience,
        code as theme_code,
        label as theme_label

    from codelists
    where field_name in ('user_topic_type', 'corp_topic_type')

),

rule_matches as (

    select
        service_items.service_item_id,
        theme_rules.audience,
        theme_rules.theme_code,
        theme_rules.rule_id,
        theme_rules.match_field,
        theme_rules.pattern,
        theme_rules.rule_note,
        theme_rules.priority,
        case theme_rules.match_field
            when 'task_name' then service_items.task_name
            when 'dept_name' then service_items.dept_name
        end as matched_field_value

    from service_items
    cross join theme_rules

),

matched as (

    select
        *,
        regexp_extract(matched_field_value, pattern) as matched_text

    from rule_matches
    where regexp_matches(matched_field_value, pattern)

),

assignments as (

    -- The lowest priority value wins within an audience, then the lowest rule_id.
    select * from matched
    qualify row_number() over (
        partition by service_item_id, audience
        order by priority, rule_id
    ) = 1

),

assigned_rows as (

    select
        assignments.service_item_id,
        assignments.audience,
        assignments.theme_code,
        theme_labels.theme_label,
        assignments.rule_id,
        assignments.match_field,
        assignments.pattern,
        assignments.rule_note,
        assignments.matched_text,
        false as is_unassigned

    from assignments
    left join theme_labels
        on assignments.audience = theme_labels.audience
        and assignments.theme_code = theme_labels.theme_code

),

unassigned_rows as (

    select
        service_items.service_item_id,
        cast(null as varchar) as audience,
        cast(null as varchar) as theme_code,
        cast(null as varchar) as theme_label,
        'unassigned' as rule_id,
        cast(null as varchar) as match_field,
        cast(null as varchar) as pattern,
        cast(null as varchar) as rule_note,
        cast(null as varchar) as matched_text,
        true as is_unassigned

    from service_items
    where not exists (
        select 1 from assignments
        where assignments.service_item_id = service_items.service_item_id
    )

),

combined as (

    select * from assigned_rows
    union all
    select * from unassigned_rows

),

final as (

    select
        md5(service_item_id || '|' || coalesce(audience, 'unassigned')) as theme_assignment_id,
        *

    from combined

)

select * from final
