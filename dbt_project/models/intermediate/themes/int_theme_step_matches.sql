with

service_items as (

    select * from {{ ref('fct_service_item') }}

),

matchers as (

    select * from {{ source('editorial_themes', 'theme_step_matchers') }}

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
    cross join service_items

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
