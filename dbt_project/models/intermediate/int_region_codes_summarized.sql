with

regions as (

    select * from {{ ref('stg_reference__regions') }}

),

ranked as (

    select
        *,
        -- A code can have an in-use row (在用) plus rows for earlier names or
        -- boundaries (变更), or only abolished rows (弃用). The in-use row
        -- describes the code, and without one the most recent row does.
        row_number() over (
            partition by region_code
            order by
                code_status = '在用' desc,
                introduced_year desc nulls last,
                changed_or_abolished_year desc nulls last
        ) as row_rank,
        bool_or(code_status = '在用') over (partition by region_code) as is_in_use

    from regions

),

final as (

    select
        region_code,
        region_name,
        province_name,
        prefecture_name,
        region_level,
        is_in_use,
        case when is_in_use then 'valid' else 'retired' end as region_code_status

    from ranked
    where row_rank = 1

)

select * from final
