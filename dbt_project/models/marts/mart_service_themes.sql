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

field_values as (

    -- A rule's pattern is tried once per distinct 事项名称 or 实施主体, not once per service:
    -- a national catalog repeats each name in thousands of regions.
    select distinct 'task_name' as match_field, task_name as field_value
    from service_items
    where task_name is not null

    union all

    select distinct 'dept_name' as match_field, dept_name as field_value
    from service_items
    where dept_name is not null

),

rule_patterns as (

    select rule_id as rule_key, match_field, pattern from theme_rules

),

pattern_hits as (
    {{ regex_hits(
        'rule_patterns',
        'select rule_id, match_field, pattern from ' ~ ref('stg_reference__theme_rules') ~ ' order by rule_id',
        'field_values'
    ) }}
),

value_matches as (

    select
        theme_rules.audience,
        theme_rules.theme_code,
        theme_rules.rule_id,
        theme_rules.match_field,
        theme_rules.pattern,
        theme_rules.rule_note,
        theme_rules.priority,
        pattern_hits.field_value as matched_field_value,
        pattern_hits.matched_text

    from theme_rules
    inner join pattern_hits
        on theme_rules.rule_id = pattern_hits.rule_key

),

matched as (

    select
        service_items.service_item_id,
        value_matches.*

    from value_matches
    inner join service_items
        on service_items.task_name = value_matches.matched_field_value
    where value_matches.match_field = 'task_name'

    union all

    select
        service_items.service_item_id,
        value_matches.*

    from value_matches
    inner join service_items
        on service_items.dept_name = value_matches.matched_field_value
    where value_matches.match_field = 'dept_name'

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
