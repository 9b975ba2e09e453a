with

service_items as (

    select * from {{ ref('fct_service_item') }}

),

matchers as (

    select * from {{ source('editorial_themes', 'theme_step_matchers') }}

),

distinct_names as (

    select distinct task_name from service_items where task_name is not null

),

distinct_name_values as (

    select 'task_name' as match_field, task_name as field_value from distinct_names

),

name_patterns as (

    select matcher_id as rule_key, 'task_name' as match_field, name_pattern as pattern
    from matchers
    where name_pattern is not null

),

name_hits as (

    -- A name pattern is tried once per distinct 事项名称, not once per service: a national
    -- catalog repeats each name in thousands of regions.
    select rule_key as matcher_id, field_value as task_name
    from (
        {{ regex_hits(
            'name_patterns',
            "select matcher_id, 'task_name', name_pattern from " ~ source('editorial_themes', 'theme_step_matchers')
                ~ ' where name_pattern is not null order by matcher_id',
            'distinct_name_values'
        ) }}
    )

),

candidate_pairs as (

    select
        matchers.theme_id,
        matchers.step_id,
        matchers.matcher_id,
        matchers.matcher_kind,
        matchers.catalog_code_prefix,
        matchers.name_pattern,
        matchers.department_pattern,
        service_items.service_item_id,
        service_items.task_name,
        service_items.catalog_code,
        service_items.dept_name

    from matchers
    inner join name_hits
        on matchers.matcher_id = name_hits.matcher_id
    inner join service_items
        on name_hits.task_name = service_items.task_name

    union all

    select
        matchers.theme_id,
        matchers.step_id,
        matchers.matcher_id,
        matchers.matcher_kind,
        matchers.catalog_code_prefix,
        matchers.name_pattern,
        matchers.department_pattern,
        service_items.service_item_id,
        service_items.task_name,
        service_items.catalog_code,
        service_items.dept_name

    from matchers
    cross join service_items
    where matchers.name_pattern is null

),

matched as (

    -- Every condition a matcher sets must hold; an unset condition matches every service.
    select * from candidate_pairs
    where (catalog_code_prefix is null or starts_with(upper(catalog_code), catalog_code_prefix))
        and (name_pattern is null or regexp_matches(task_name, name_pattern))
        and (department_pattern is null or regexp_matches(dept_name, department_pattern))

),

final as (

    select
        theme_id,
        step_id,
        matcher_id,
        matcher_kind,
        service_item_id,
        concat_ws(
            '；',
            case when catalog_code_prefix is not null
                then '基本编码 ' || catalog_code || ' 以 ' || catalog_code_prefix || ' 开头' end,
            case when name_pattern is not null
                then '事项名称含“' || regexp_extract(task_name, name_pattern) || '”' end,
            case when department_pattern is not null
                then '实施主体“' || dept_name || '”符合“' || department_pattern || '”' end
        ) as evidence

    from matched

)

select * from final
