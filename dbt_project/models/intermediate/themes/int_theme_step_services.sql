with

rule_matches as (

    select * from {{ ref('int_theme_step_matches') }}

),

applications as (

    select * from {{ ref('int_theme_override_applications') }}

),

matched_by_rule as (

    select
        theme_id,
        step_id,
        service_item_id,
        'rule' as matched_by,
        string_agg(matcher_id, ',' order by matcher_id) as matcher_ids,
        string_agg(distinct matcher_kind, ',' order by matcher_kind) as matcher_kinds,
        string_agg(evidence, ' | ' order by matcher_id) as evidence,
        cast(null as varchar) as override_id

    from rule_matches
    group by theme_id, step_id, service_item_id

),

removals as (

    select theme_id, step_id, service_item_id from applications
    where action = 'remove' and application_status = 'applied'

),

kept as (

    select * from matched_by_rule
    anti join removals using (theme_id, step_id, service_item_id)

),

additions as (

    select
        theme_id,
        step_id,
        service_item_id,
        'override' as matched_by,
        cast(null as varchar) as matcher_ids,
        'override' as matcher_kinds,
        '人工修订：' || reason || '（审核人 ' || reviewer || '，' || strftime(reviewed_on, '%Y-%m-%d') || '）' as evidence,
        override_id

    from applications
    where action = 'add' and application_status = 'applied'
    qualify row_number() over (partition by theme_id, step_id, service_item_id order by override_id) = 1

),

final as (

    select * from kept
    union all
    select * from additions

)

select * from final
