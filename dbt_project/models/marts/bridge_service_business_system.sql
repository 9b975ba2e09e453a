with

service_items as (

    select * from {{ ref('fct_service_item') }}

),

rules as (

    select * from {{ source('editorial_content', 'business_system_rules') }}

),

evaluated as (

    select
        service_items.service_item_id,
        service_items.task_name,
        service_items.dept_name,
        service_items.task_type_label,
        rules.system_id,
        rules.rule_id,
        rules.rule_order,
        rules.rule_kind,
        rules.task_types,
        list_filter(rules.department_keywords, lambda keyword: contains(service_items.dept_name, keyword))
            as matched_department_keywords,
        list_filter(rules.name_keywords, lambda keyword: contains(service_items.task_name, keyword))
            as matched_name_keywords,
        len(list_filter(rules.exclude_name_keywords, lambda keyword: contains(service_items.task_name, keyword))) > 0
            as is_excluded,
        len(rules.department_keywords) > 0 as needs_department,
        len(rules.name_keywords) > 0 as needs_name,
        len(rules.task_types) > 0 as needs_task_type

    from service_items
    cross join rules

),

matched as (

    select * from evaluated
    where not is_excluded
        and (not needs_department or len(matched_department_keywords) > 0)
        and (not needs_name or len(matched_name_keywords) > 0)
        and (not needs_task_type or list_contains(task_types, task_type_label))

),

ranked as (

    select
        *,
        row_number() over (partition by service_item_id, system_id order by rule_order, rule_id) as rule_rank,
        count(*) over (partition by service_item_id, system_id) as matched_rule_count

    from matched

),

final as (

    select
        service_item_id,
        system_id,
        rule_id,
        rule_kind,
        concat_ws(
            '；',
            case when needs_task_type then '事项类型“' || task_type_label || '”' end,
            case when needs_department then
                '实施主体“' || dept_name || '”含“' || array_to_string(matched_department_keywords, '、') || '”'
            end,
            case when needs_name then
                '事项名称“' || task_name || '”含“' || array_to_string(matched_name_keywords, '、') || '”'
            end
        ) as evidence,
        matched_rule_count

    from ranked
    where rule_rank = 1

)

select * from final
