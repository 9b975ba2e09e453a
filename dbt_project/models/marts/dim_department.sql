{%- set valid_identifier_statuses = "('valid_uscc', 'valid_org_code')" -%}

with

source_records as (

    select * from {{ ref('int_service_items_deduplicated') }}

),

service_items as (

    select * from {{ ref('fct_service_item') }}

),

named_records as (

    select * from source_records
    where dept_name is not null

),

code_counts as (

    select
        dept_name,
        dept_code,
        dept_code_status,
        count(*) as record_count

    from named_records
    where dept_code is not null
    group by all

),

ranked_codes as (

    select
        *,
        -- A valid code wins. A department without one reports its most common
        -- defective code, so the defect stays visible.
        row_number() over (
            partition by dept_name
            order by
                dept_code_status in {{ valid_identifier_statuses }} desc,
                record_count desc,
                dept_code
        ) as code_rank

    from code_counts

),

departments as (

    select
        dept_name,
        list(distinct dept_code order by dept_code) filter (where dept_code is not null) as dept_codes,
        list(distinct source_id order by source_id) as source_ids

    from named_records
    group by dept_name

),

item_counts as (

    select
        department_id,
        count(*) as service_item_count

    from service_items
    group by department_id

),

final as (

    select
        md5(departments.dept_name) as department_id,
        departments.dept_name,
        ranked_codes.dept_code,
        ranked_codes.dept_code_status,
        coalesce(departments.dept_codes, []) as dept_codes,
        departments.source_ids,
        coalesce(item_counts.service_item_count, 0) as service_item_count

    from departments
    left join ranked_codes
        on departments.dept_name = ranked_codes.dept_name
        and ranked_codes.code_rank = 1
    left join item_counts
        on md5(departments.dept_name) = item_counts.department_id

)

select * from final
