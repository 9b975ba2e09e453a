with

field_variance as (

    select * from {{ ref('int_catalog_code_field_variance') }}

),

coverage as (

    select * from {{ ref('int_catalog_code_coverage') }}

),

service_items as (

    select service_item_id, task_name, dept_name from {{ ref('fct_service_item') }}

),

final as (

    select
        md5(field_variance.service_item_id || '|' || field_variance.field_name) as region_variance_id,
        field_variance.catalog_code,
        coverage.region_count as catalog_region_count,
        field_variance.service_item_id,
        field_variance.task_code,
        service_items.task_name,
        service_items.dept_name,
        field_variance.implementation_region_code,
        field_variance.field_name,
        case field_variance.field_name
            when 'accept_condition' then '受理条件'
            when 'materials' then '申请材料'
            when 'time_limit' then '办结时限'
            when 'is_fee' then '是否收费'
        end as field_label,
        field_variance.field_position,
        field_variance.field_value,
        field_variance.baseline_value,
        field_variance.baseline_implementation_count,
        field_variance.compared_implementation_count,
        field_variance.variance,
        case field_variance.variance
            when 'standard' then '规范（与其他区划多数一致）'
            when 'differentiated' then '差异（与其他区划多数不同）'
            else '未知（本地或其他区划未公布）'
        end as variance_label

    from field_variance
    inner join coverage using (catalog_code)
    inner join service_items using (service_item_id)

)

select * from final
